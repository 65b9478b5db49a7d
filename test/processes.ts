import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './free-port.js'

// Real server processes owned by one test, for fault injection: stop (SIGTERM), freeze
// (SIGSTOP), thaw (SIGCONT) and restart on the same port. Never a stubbed client.

/** Resolves when the process prints a line matching `ready`; rejects if it exits first. */
export function startProcess (command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (ready.test(output)) {
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        child.off('exit', onExit)
        child.stdout?.resume()
        child.stderr?.resume()
        resolve(child)
      }
    }
    const onExit = (code: number | null) => reject(new Error(`${command} exited (${code}) before ready:\n${output}`))
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

abstract class OwnedServer {
  protected child: ChildProcess | undefined
  constructor (readonly port: number) {}

  protected abstract launch (): Promise<ChildProcess>

  async start (): Promise<void> {
    this.child = await this.launch()
  }

  /** SIGTERM and wait for the exit: connections are refused afterwards. */
  async stop (): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
    this.child = undefined
  }

  /**
   * SIGSTOP: the socket stays open but nothing answers, like a hung server. Resolves once the
   * kernel reports the process stopped: a signal is delivered asynchronously, and on a loaded
   * machine a multi-threaded server could otherwise still answer the next request.
   */
  async freeze (): Promise<void> {
    if (this.child) await freezeProcess(this.child)
  }

  thaw (): void {
    this.child?.kill('SIGCONT')
  }

  async restart (): Promise<void> {
    await this.stop()
    await this.start()
  }
}

export class OwnedRedis extends OwnedServer {
  constructor (port: number, private readonly extraArgs: string[] = []) {
    super(port)
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  protected launch () {
    const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'
    return startProcess(bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extraArgs],
      /Ready to accept connections/)
  }
}

export class OwnedMongo extends OwnedServer {
  private readonly dir = mkdtempSync(join(tmpdir(), 'flowops-ferretdb-'))

  get url (): string {
    return `mongodb://127.0.0.1:${this.port}/faults`
  }

  protected launch () {
    const bin = process.env.FERRETDB_BIN ?? 'ferretdb'
    // The wrapper prints its MongoDB URI once the listener is bound.
    return startProcess(bin, ['--handler=sqlite', `--sqlite-url=file:${this.dir}/`,
      `--listen-addr=127.0.0.1:${this.port}`, '--telemetry=disable'], /mongodb:\/\//)
  }

  removeData (): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A redis-server of this test's own; `extraArgs` are added to its command line. */
export async function ownRedis (t: Test, extraArgs: string[] = []): Promise<OwnedRedis> {
  const redis = new OwnedRedis(await freePort(), extraArgs)
  await redis.start()
  t.teardown(() => redis.stop())
  return redis
}

export async function ownMongo (t: Test): Promise<OwnedMongo> {
  const mongo = new OwnedMongo(await freePort())
  await mongo.start()
  t.teardown(async () => {
    await mongo.stop()
    mongo.removeData()
  })
  return mongo
}

/**
 * SIGSTOP `child`, resolved once the kernel reports it stopped: a signal is delivered
 * asynchronously, and on a loaded machine a multi-threaded server could otherwise still answer
 * the next request.
 */
export async function freezeProcess (child: ChildProcess): Promise<void> {
  if (!child.pid) return
  child.kill('SIGSTOP')
  const stat = `/proc/${child.pid}/stat`
  if (!existsSync(stat)) return // not Linux: nothing to read
  const deadline = Date.now() + 5000
  // The state is the field after the parenthesised command name; 'T' is stopped.
  while (!/\) T /.test(readFileSync(stat, 'utf8'))) {
    if (Date.now() > deadline) throw new Error(`process ${child.pid} did not stop within 5 s`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Awaits `work` and says how long it took: the outage tests bound failure latency with it. */
export async function timed<T> (work: Promise<T>): Promise<{ result: T, ms: number }> {
  const started = performance.now()
  const result = await work
  return { result, ms: performance.now() - started }
}

/** Polls a condition (every 10 ms, bounded) for state that has no event of its own. */
export async function eventually (condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
