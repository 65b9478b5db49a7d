import { OverloadedError } from '../http/errors.js'

/**
 * The reads that go to MongoDB while Redis cannot be used (BYPASS), which no Redis lease can
 * coalesce across instances, coalesced in this process and bounded:
 *
 * - Per key, one load runs; requests that arrive while it runs wait for the *next* load, which
 *   starts when it ends and is shared by all of them. They never join the running one: it may
 *   have read MongoDB before a write that was acknowledged before they arrived (a POST needs no
 *   Redis), and a read must never return data older than that. So a burst of N requests for one
 *   page costs at most two MongoDB reads, and each request gets data read after it arrived.
 * - Across keys, at most `maxConcurrent` loads run at once and `maxQueued` wait; past that the
 *   request is refused at once with 503 OVERLOADED, instead of filling the driver's pool and
 *   making every request wait out its timeout against a database that is already slow.
 */
export function createBypassReads<T> ({ maxConcurrent, maxQueued, coalesced }: {
  maxConcurrent: number
  maxQueued: number
  /** Told of each request that shares another's load instead of starting its own. */
  coalesced: () => void
}) {
  interface Flight { running: Promise<T>, next?: { promise: Promise<T>, start: () => void } }
  const flights = new Map<string, Flight>()
  let running = 0
  const waiting: Array<() => void> = []

  /** Runs `load` once a slot is free (or refuses when too many wait). */
  async function bounded (load: () => Promise<T>): Promise<T> {
    if (running >= maxConcurrent) {
      if (waiting.length >= maxQueued) throw new OverloadedError()
      await new Promise<void>((resolve) => waiting.push(resolve))
    }
    running++
    try {
      return await load()
    } finally {
      running--
      waiting.shift()?.()
    }
  }

  function launch (key: string, load: () => Promise<T>): Promise<T> {
    const running = bounded(load)
    const flight: Flight = { running }
    flights.set(key, flight)
    const settle = () => {
      const next = flight.next
      if (next === undefined) {
        flights.delete(key)
        return
      }
      flights.set(key, { running: next.promise })
      next.start()
    }
    running.then(settle, settle)
    return running
  }

  return {
    /** Loads `key` (a response, an error: shared by everyone who waited for this load). */
    run (key: string, load: () => Promise<T>): Promise<T> {
      const flight = flights.get(key)
      if (flight === undefined) return launch(key, load)
      if (flight.next !== undefined) coalesced()
      else {
        let start = () => {}
        const promise = new Promise<T>((resolve, reject) => {
          start = () => { launch(key, load).then(resolve, reject) }
        })
        flight.next = { promise, start }
      }
      return flight.next.promise
    }
  }
}
