/** A Redis call that did not answer in time (a frozen or overloaded server). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError'
  readonly code = 'DEADLINE_EXCEEDED'
}

/**
 * Settles like `promise`, or rejects with DeadlineExceededError after `ms`. A frozen Redis
 * keeps its socket open, so no connection error ever comes: only a deadline notices.
 *
 * The deadline only blames Redis for Redis's delay. A stall of this process's own (a long GC
 * pause, a burst of requests on a saturated CPU, being descheduled) must not count:
 * - the clock starts when the command has left: ioredis's autopipelining sends queued commands
 *   from a setImmediate, so the timer is armed from one too, right after that send, not when a
 *   long burst of request handling queued the call;
 * - an expired deadline decides in the next check phase, after the poll phase has read what the
 *   sockets hold (Node runs expired timers before it reads them), so an answer that arrived
 *   during a stall wins.
 * Without this, one stall of ours failed every call in flight at once, opened the breaker, and
 * sent a burst of reads to MongoDB while Redis was perfectly healthy.
 */
export function withDeadline<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const expire = () => {
      setImmediate(() => {
        if (settled) return
        settled = true
        reject(new DeadlineExceededError(`${what}: no answer within ${ms} ms`))
      })
    }
    setImmediate(() => {
      if (!settled) timer = setTimeout(expire, ms)
    })
    promise.then(
      (value) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(err)
      }
    )
  })
}
