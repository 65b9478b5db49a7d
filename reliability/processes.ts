import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'

// Every process the suite starts is registered here, so that whatever happens (a failed check,
// an exception, Ctrl-C) none outlives the run.

const started = new Set<ChildProcess>()

export interface SpawnSpec {
  name: string
  command: string
  args: string[]
  env?: Record<string, string>
  logDir: string
}

/** Starts a registered process, its output appended to logDir/name.log. */
export function spawnLogged (spec: SpawnSpec): ChildProcess {
  const child = spawn(spec.command, spec.args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  started.add(child)
  child.once('exit', () => started.delete(child))
  const log = createWriteStream(join(spec.logDir, `${spec.name}.log`), { flags: 'a' })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  return child
}

/** Resolves when the process prints a match of `ready` (stdout or stderr); rejects if it exits first. */
export function untilOutput (child: ChildProcess, name: string, ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8192)
      if (!ready.test(output)) return
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      resolve(child)
    }
    const onExit = (code: number | null) => reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`))
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Starts a process and resolves once it prints `ready`. */
export function spawnReady (spec: SpawnSpec & { ready: RegExp }): Promise<ChildProcess> {
  return untilOutput(spawnLogged(spec), spec.name, spec.ready)
}

/** Sends `signal` (after SIGCONT, so a frozen process can act on it) and awaits the exit. */
export async function stopProcess (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGCONT')
  child.kill(signal)
  await exited
}

/** SIGKILLs every process still running; safe to call more than once. */
export function killAll (): void {
  for (const child of started) {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }
  started.clear()
}
