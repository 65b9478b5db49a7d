import cluster, { type Worker } from 'node:cluster'
import Fastify from 'fastify'
import type { Config } from './config.js'
import { loggerOptions } from './logger-options.js'
import { SHUTDOWN_MESSAGE } from './shutdown-message.js'

// How much longer than a worker's own SHUTDOWN_TIMEOUT_MS the primary waits before it kills a
// worker that is still there (frozen, say): the worker's timer normally ends it first.
const KILL_MARGIN_MS = 2000
// A replacement that cannot start (the database it needs is down, say) is tried again after
// this, doubling up to the cap, while the surviving workers go on serving.
const REPLACEMENT_RETRY_MS = 500
const REPLACEMENT_RETRY_MAX_MS = 30_000

/**
 * The cluster primary (WORKERS > 1): runs `workers` instances of the service with Node's
 * cluster module; the primary accepts the connections and hands them to the workers in turn.
 * - a worker that dies after it started listening is logged and replaced;
 * - a replacement that dies before listening could not start (MongoDB unreachable, say): it is
 *   tried again with a capped exponential backoff, and the workers still alive go on serving
 *   (cache hits need no database); a worker's death never takes the service down;
 * - only when no worker has ever listened does a failed start stop the service: the primary
 *   stops every worker and exits 1, as a single instance would, and the orchestrator restarts it;
 * - SIGTERM or SIGINT drains every worker (each finishes its in-flight requests and releases
 *   its locks, see src/instance.ts), then exits 0, or 1 if any worker failed to drain; a second
 *   signal kills the workers and exits 1 at once.
 */
export function runPrimary ({ config, workers, prettyLogs }: { config: Config, workers: number, prettyLogs: boolean }): void {
  // The workers' logger configuration, for the primary's few lines.
  const log = Fastify({ logger: loggerOptions({ config, prettyLogs }) }).log.child({ role: 'primary' })
  const live = new Set<Worker>()
  const listening = new Set<Worker>()
  let shuttingDown = false
  let exitCode = 0
  let everListened = false
  let retryDelay = REPLACEMENT_RETRY_MS

  function fork (): void {
    const worker = cluster.fork()
    live.add(worker)
    worker.once('listening', () => {
      listening.add(worker)
      everListened = true
      retryDelay = REPLACEMENT_RETRY_MS
      log.info({ workerPid: worker.process.pid }, 'worker listening')
    })
  }

  function finishIfDone (): void {
    if (shuttingDown && live.size === 0) {
      log.info({ exitCode }, 'every worker stopped')
      process.exit(exitCode)
    }
  }

  function shutdown (reason: Record<string, unknown>): void {
    if (shuttingDown) {
      log.error(reason, 'second signal: killing the workers')
      for (const worker of live) worker.process.kill('SIGKILL')
      process.exit(1)
    }
    shuttingDown = true
    log.info({ ...reason, workers: live.size }, 'shutting down: draining every worker')
    for (const worker of live) if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE)
    setTimeout(() => {
      log.error('workers still running after the shutdown timeout: killing them')
      for (const worker of live) worker.process.kill('SIGKILL')
    }, config.SHUTDOWN_TIMEOUT_MS + KILL_MARGIN_MS).unref()
    finishIfDone()
  }

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker)
    const started = listening.delete(worker)
    const details = { workerPid: worker.process.pid, code, signal }
    if (shuttingDown) {
      if (code !== 0) exitCode = 1
      log.info(details, 'worker stopped')
    } else if (!started && !everListened) {
      exitCode = 1
      log.error(details, 'worker exited before listening: the service cannot start; stopping')
      shutdown({ reason: 'worker start-up failed' })
    } else if (!started) {
      log.error({ ...details, retryInMs: retryDelay, serving: listening.size }, 'replacement worker could not start; trying again')
      setTimeout(() => { if (!shuttingDown) fork() }, retryDelay)
      retryDelay = Math.min(retryDelay * 2, REPLACEMENT_RETRY_MAX_MS)
    } else {
      log.error(details, 'worker died; starting a replacement')
      fork()
    }
    finishIfDone()
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => shutdown({ signal }))
  log.info({ workers }, 'starting workers')
  for (let i = 0; i < workers; i++) fork()
}
