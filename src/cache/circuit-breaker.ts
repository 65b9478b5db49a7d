type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Consecutive-failure circuit breaker for the cache's Redis calls. Closed: every call goes
 * through. After `threshold` consecutive failures it opens: calls are skipped (the caller goes
 * straight to MongoDB) for `cooldownMs`. Then it lets one probe through (half-open); the
 * probe's outcome closes or re-opens it. A probe that never reports is forgotten after
 * another cooldown, so the breaker cannot stick open.
 */
export function createCircuitBreaker ({ threshold, cooldownMs, now = Date.now }: {
  threshold: number
  cooldownMs: number
  now?: () => number
}) {
  let consecutiveFailures = 0
  let openedAt = 0
  let probeStartedAt = 0

  function state (): BreakerState {
    if (consecutiveFailures < threshold) return 'closed'
    return now() - openedAt < cooldownMs ? 'open' : 'half-open'
  }

  return {
    state,

    /** Whether a call may go to Redis now. In half-open, only one probe at a time. */
    allows (): boolean {
      const current = state()
      if (current === 'closed') return true
      if (current === 'open') return false
      const t = now()
      if (probeStartedAt !== 0 && t - probeStartedAt < cooldownMs) return false
      probeStartedAt = t
      return true
    },

    succeeded (): void {
      consecutiveFailures = 0
      probeStartedAt = 0
    },

    failed (): void {
      consecutiveFailures++
      probeStartedAt = 0
      if (consecutiveFailures >= threshold) openedAt = now()
    }
  }
}
