import type { FastifyBaseLogger } from 'fastify'
import type { MongoClient } from 'mongodb'
import { setTimeout as sleep } from 'node:timers/promises'

// The MongoDB driver finds its way back to a server that was gone through its monitor: a
// heartbeat (hello) every heartbeatFrequencyMS, and at once when an operation cannot select a
// server. Each heartbeat ends as succeeded or failed, within connectTimeoutMS. The reliability
// suite (500 requests/s, the database stopped behind Toxiproxy) saw one that did neither: the
// driver logged "Server heartbeat started" and nothing after it, its monitor never checked
// again, and that instance answered 503 DATABASE_UNAVAILABLE ("connection 17 ... closed") for
// as long as it lived, while the database had been back for minutes and the other instances
// were served. (Driver 7.9.0, FerretDB 1.24, which answers hello without a topologyVersion, so
// the driver polls.) Nothing in the driver's API restarts a monitor; closing the client and
// connecting it again does, and the handles made from it (db, collections) go on working.
// So: a heartbeat that has neither succeeded nor failed after `stuckAfterMs` (well past the
// driver's own bound) restarts the client. Operations in flight then fail, as they would have.
// A restart's connect fails while the database is still gone, and a failed connect leaves the
// client's topology closed for good: the driver does not try again, and every operation fails
// with "Topology is closed" (a full reliability run saw a worker answer 503 so, for the rest of
// the run, after the database was back). So the watchdog connects again until it succeeds.

export interface MonitorWatchdog {
  stop: () => void
  /** Restarts so far (for the log and the tests). */
  restarts: () => number
}

/** True when a heartbeat started at `startedAt` and has not ended by `now`, past the bound. */
export function heartbeatStuck (startedAt: number | undefined, now: number, stuckAfterMs: number): boolean {
  return startedAt !== undefined && now - startedAt > stuckAfterMs
}

/** The longest wait between two connects of a restart that keep failing (the database is still gone). */
const MAX_RECONNECT_DELAY_MS = 2000

export function watchMonitor (client: MongoClient, { stuckAfterMs, log, checkEveryMs = 1000 }: {
  stuckAfterMs: number
  log: FastifyBaseLogger
  checkEveryMs?: number
}): MonitorWatchdog {
  let startedAt: number | undefined
  let restarting = false
  let stopped = false
  let restarts = 0
  const started = () => { startedAt ??= performance.now() }
  const ended = () => { startedAt = undefined }
  client.on('serverHeartbeatStarted', started)
  client.on('serverHeartbeatSucceeded', ended)
  client.on('serverHeartbeatFailed', ended)
  const timer = setInterval(() => {
    if (stopped || restarting || !heartbeatStuck(startedAt, performance.now(), stuckAfterMs)) return
    restarting = true
    restarts++
    log.error({ stuckForMs: Math.round(performance.now() - (startedAt as number)) }, 'MongoDB server monitor stuck in a heartbeat: restarting the client')
    startedAt = undefined
    client.close()
      .then(reconnect)
      .catch((err: unknown) => log.error({ err }, 'MongoDB client close failed'))
      .finally(() => { restarting = false })
  }, checkEveryMs)

  /** Connects the closed client again, as many times as it takes (see above), until stopped. */
  async function reconnect (): Promise<void> {
    for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, MAX_RECONNECT_DELAY_MS)) {
      if (stopped) return // stop() is called from outside, between two attempts
      try {
        await client.connect()
        log.warn('MongoDB client restarted')
        return
      } catch (err) {
        log.error({ err, retryInMs: delayMs }, 'MongoDB client restart failed; connecting again')
      }
      await sleep(delayMs, undefined, { ref: false })
    }
  }
  timer.unref()
  return {
    stop () {
      stopped = true
      clearInterval(timer)
      client.off('serverHeartbeatStarted', started)
      client.off('serverHeartbeatSucceeded', ended)
      client.off('serverHeartbeatFailed', ended)
    },
    restarts: () => restarts
  }
}
