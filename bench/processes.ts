import { spawn, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { freePort } from '../test/free-port.js'

// The processes a benchmark run owns: service instances and the ceiling server, each in its own
// process so the load generator never shares their event loop.

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface Running {
  url: string
  child: ChildProcess
  stop: () => Promise<void>
}

async function waitUntilAnswering (url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`)
    try {
      const response = await fetch(url)
      if (response.status < 500) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 60 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const started = new Set<ChildProcess>()

/** Where each process's output goes, so a crash during a run can be read afterwards. */
export const LOG_DIR = process.env.BENCH_LOG_DIR ?? '/tmp'

function run (args: string[], env: Record<string, string>, probeUrl: string, base: string): Promise<Running> {
  const log = openSync(join(LOG_DIR, `flowops-bench-${new URL(base).port}.log`), 'w')
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] })
  started.add(child)
  const stop = async () => {
    started.delete(child)
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  return waitUntilAnswering(probeUrl, child).then(() => ({ url: base, child, stop }))
}

/** Ends every process this run started, whatever happened; no orphan outlives the benchmark. */
export function killAll (): void {
  for (const child of started) child.kill('SIGKILL')
  started.clear()
}

/** The built service (dist/src/server.js, or another build's entry), optionally with a CPU profile written on exit. */
export async function startService (env: Record<string, string>, cpuProfileDir?: string, entry = join(DIST, 'src/server.js')): Promise<Running> {
  const port = await freePort()
  const args = [...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []), entry]
  const base = `http://127.0.0.1:${port}`
  return run(args, { LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env }, `${base}/health`, base)
}

/**
 * The built service without some of its operability layers (bench/service-without.ts), for
 * the per-layer A/B rows: the same configuration and start-up, minus the layers named.
 */
export async function startServiceWithout (layers: readonly string[], env: Record<string, string>): Promise<Running> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  return run([join(DIST, 'bench/service-without.js')],
    { LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env, BENCH_WITHOUT: layers.join(',') }, `${base}/health`, base)
}

/** The naive baseline (bench/naive-server.ts): Express 5 + ioredis, on the same data. */
export async function startNaive (mongodbUrl: string, redisUrl: string, ttlSeconds: number): Promise<Running> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  return run([join(DIST, 'bench/naive-server.js'), String(port), mongodbUrl, redisUrl, String(ttlSeconds)], {}, `${base}/orders?page=1&limit=1`, base)
}

/** Where the ceiling server sends a captured body with nothing but its content type. */
export const BODY_ONLY_PREFIX = '/body-only'
/** A route captured as the service's 304, answered to a request with If-None-Match. */
export const NOT_MODIFIED_SUFFIX = '#if-none-match'

/** A response captured from the service, in files the ceiling server reads at start-up. */
export interface CapturedFiles { bodyFile: string, headersFile: string }

export async function startCeiling (routes: Record<string, CapturedFiles>, cpuProfileDir?: string): Promise<Running> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const args = [...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []), join(DIST, 'bench/ceiling-server.js'), String(port),
    ...Object.entries(routes).flatMap(([url, files]) => [url, files.bodyFile, files.headersFile])]
  return run(args, {}, `${base}${Object.keys(routes)[0] ?? '/'}`, base)
}
