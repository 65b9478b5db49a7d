// Fail-safe without staleness (CACHE_GRACE_SECONDS): an entry past its TTL is kept for the
// grace period, and when the reload that would replace it cannot be had (the database fails,
// or is slower than CACHE_SOFT_TIMEOUT_MS) the entry is served, marked GRACE with its Age. It
// is not stale data: it is served only while its generation is current, that is while no write
// that went through the service has changed it (the same test every hit passes). A write made
// to MongoDB behind the service's back would make it stale, as it would a hit.
//
// Once a reload has failed so, the next ones are not waited for until one succeeds: while the
// database is known to be failing, entries in grace are served at once (their reload still
// runs, one per key in flight, and fills when the database answers).

export function createGrace ({ softTimeoutMs, servesInGrace }: {
  softTimeoutMs: number
  /** Whether a reload's error is the database failing (rather than, say, a bug: that one is thrown). */
  servesInGrace: (err: unknown) => boolean
}) {
  let failing = false

  return {
    /** The reload's result, or undefined when the entry in grace is to be served instead. */
    async reloadOrGrace<T> (reload: Promise<T>): Promise<{ loaded: T } | undefined> {
      let timer: NodeJS.Timeout | undefined
      const waitMs = failing ? 0 : softTimeoutMs
      reload.then(() => { failing = false }, () => {})
      const soft = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), waitMs) })
      try {
        // Undefined when slower than the soft timeout: served in grace; the reload goes on and fills.
        return await Promise.race([reload.then((loaded) => ({ loaded })), soft])
      } catch (err) {
        if (!servesInGrace(err)) throw err
        failing = true
        return undefined
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

export type Grace = ReturnType<typeof createGrace>
