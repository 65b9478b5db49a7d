import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { eventually } from './processes.js'

// The built server (dist/src/server.js, what `npm start` and the Docker image run), spawned
// as a process with a clean environment, its JSON log lines collected as they come.

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const SERVER = join(ROOT, 'dist', 'src', 'server.js')

const BUILD = join(ROOT, 'scripts', 'build-if-stale.mjs')

/**
 * Compiles with tsconfig.build.json (`npm run build`) when dist is missing or older than the
 * sources (scripts/build-if-stale.mjs). Test files run in parallel processes (.taprc jobs):
 * the check and the build run under an exclusive lock, so two files never run tsc into dist/
 * at once. flock(1) takes it (the kernel releases it even if its holder dies); where flock is
 * missing (not Linux), scripts/test.sh's build before tap is what keeps the build single.
 */
export function ensureBuilt (): void {
  mkdirSync(join(ROOT, 'dist'), { recursive: true })
  const build = [process.execPath, BUILD]
  const command = hasFlock() ? ['flock', join(ROOT, 'dist', '.build.lock'), ...build] : build
  execFileSync(command[0] as string, command.slice(1), { cwd: ROOT, stdio: 'pipe' })
}

function hasFlock (): boolean {
  try {
    execFileSync('flock', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export interface LogLine { msg?: string, reqId?: string, pid?: number, workerPid?: number, role?: string, code?: number | null, exitCode?: number }

export interface BuiltServer {
  child: ChildProcess
  /** Every log line so far, in the order the pipe delivered them. */
  logs: LogLine[]
  exited: Promise<[number | null, NodeJS.Signals | null]>
  stderr: () => string
  /** Resolves with the first line (from index `from`) that matches; fails if the server exits. */
  logged: (match: (line: LogLine) => boolean, timeoutMs?: number, from?: number) => Promise<LogLine>
}

/** Spawns the built server with only PATH and `env`; killed when the test ends if still running. */
export function startBuiltServer (t: Test, env: Record<string, string>): BuiltServer {
  ensureBuilt()
  const child = spawn(process.execPath, [SERVER], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const logs: LogLine[] = []
  // pino writes one JSON object per line; each process's lines arrive in its own order.
  createInterface({ input: child.stdout! }).on('line', (line) => { logs.push(JSON.parse(line) as LogLine) })
  let ended = false
  exited.then(() => { ended = true }, () => {})
  return {
    child,
    logs,
    exited,
    stderr: () => stderr,
    async logged (match, timeoutMs = 30_000, from = 0) {
      let found: LogLine | undefined
      await eventually(() => {
        found = logs.slice(from).find(match)
        if (!found && ended) throw new Error(`the server exited before logging what was awaited:\n${stderr}`)
        return found !== undefined
      }, timeoutMs)
      return found as LogLine
    }
  }
}
