/**
 * In-process de-duplication of concurrent loads, as in mcollina/async-cache-dedupe: the first
 * caller of a key runs the load, callers arriving while it runs join it and get the same
 * outcome, whatever it is (a value, or the error it failed with). Nobody who joined falls back
 * to a load of its own. The entry is gone once the load settles: this shares work in flight,
 * it is not a cache.
 */
export function createSingleFlight<T> () {
  const inFlight = new Map<string, Promise<T>>()

  return {
    /** Runs `load` for `key`, or joins the run in flight; `onJoin` is told when it joins. */
    run (key: string, load: () => Promise<T>, onJoin: () => void): Promise<T> {
      const running = inFlight.get(key)
      if (running) {
        onJoin()
        return running
      }
      const run = (async () => {
        try {
          return await load()
        } finally {
          inFlight.delete(key)
        }
      })()
      inFlight.set(key, run)
      return run
    }
  }
}
