/** A Redis call that did not answer in time (a frozen or overloaded server). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError'
  readonly code = 'DEADLINE_EXCEEDED'
}

/**
 * Settles like `promise`, or rejects with DeadlineExceededError after `ms`. A frozen Redis
 * keeps its socket open, so no connection error ever comes: only a deadline notices.
 */
export function withDeadline<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(`${what}: no answer within ${ms} ms`)), ms)
    promise.then(
      (value) => { clearTimeout(timer); resolve(value) },
      (err: unknown) => { clearTimeout(timer); reject(err) }
    )
  })
}
