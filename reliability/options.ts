// The knobs of a reliability run. Two forms: the full one (a few minutes of faults, a several
// minute soak) and --short for CI. Every figure can be overridden from the environment.
// The load: 500 requests/s, open loop, in both forms: about 80% of what this set-up takes on
// this project's 2-core machines (`npm run test:reliability -- --capacity`: 600 requests/s of
// the mix answered in full, 700 not; the three instances, Redis, FerretDB, Toxiproxy and the
// load driver share the two cores, and FerretDB's list queries after each POST are the first
// to saturate). A real load, at which a fault's window holds thousands of requests, and below
// saturation before any fault, so that a check measures the fault rather than an overloaded
// machine.
export interface Options {
  form: 'full' | 'short'
  /** --soak-only (or RELIABILITY_SOAK_ONLY=1): seed, then the soak alone, no faults; its report goes under dist/. */
  soakOnly: boolean
  /** --capacity: measure what the set-up can take (reliability/capacity.ts), no faults, no checks. */
  capacity: boolean
  /** --near-bound: measure the near-cache bound alone (reliability/near-bound.ts), no faults, no checks. */
  nearBoundOnly: boolean
  /** Orders created over HTTP before the load starts. */
  seedOrders: number
  /** Requests started per second by the load driver (open loop), and the in-flight cap. */
  rate: number
  maxInFlight: number
  /** Seconds of each phase: the warm-up, the baseline, each fault window, the recovery after a fault. */
  warmupSeconds: number
  baselineSeconds: number
  faultSeconds: number
  recoverySeconds: number
  /** Soak on one instance: its length, and the warm-up before the first memory sample. */
  soakSeconds: number
  soakWarmupSeconds: number
  /** Service settings shared by every instance. */
  lockTtlSeconds: number
  cacheTtlSeconds: number
  mongodbTimeoutMs: number
  /** The near-cache bound (reliability/near-bound.ts): its length, and its open-loop rate. */
  nearBoundSeconds: number
  nearBoundRate: number
  /** No answer within this is logged as a client timeout. */
  clientTimeoutMs: number
}

function num (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw}: not a non-negative number`)
  return value
}

export function readOptions (argv: string[]): Options {
  const short = argv.includes('--short') || process.env.RELIABILITY_SHORT === '1'
  return {
    form: short ? 'short' : 'full',
    soakOnly: argv.includes('--soak-only') || process.env.RELIABILITY_SOAK_ONLY === '1',
    capacity: argv.includes('--capacity'),
    nearBoundOnly: argv.includes('--near-bound'),
    seedOrders: num('RELIABILITY_SEED_ORDERS', 100),
    rate: num('RELIABILITY_RATE', 500),
    maxInFlight: num('RELIABILITY_MAX_IN_FLIGHT', 256),
    warmupSeconds: num('RELIABILITY_WARMUP_SECONDS', short ? 5 : 10),
    baselineSeconds: num('RELIABILITY_BASELINE_SECONDS', short ? 8 : 20),
    faultSeconds: num('RELIABILITY_FAULT_SECONDS', short ? 5 : 10),
    recoverySeconds: num('RELIABILITY_RECOVERY_SECONDS', short ? 8 : 15),
    soakSeconds: num('RELIABILITY_SOAK_SECONDS', short ? 40 : 300),
    soakWarmupSeconds: num('RELIABILITY_SOAK_WARMUP_SECONDS', short ? 10 : 30),
    lockTtlSeconds: num('RELIABILITY_LOCK_TTL_SECONDS', 10),
    cacheTtlSeconds: num('RELIABILITY_CACHE_TTL_SECONDS', 60),
    mongodbTimeoutMs: num('RELIABILITY_MONGODB_TIMEOUT_MS', 2500),
    nearBoundSeconds: num('RELIABILITY_NEAR_BOUND_SECONDS', short ? 15 : 30),
    nearBoundRate: num('RELIABILITY_NEAR_BOUND_RATE', 1500),
    clientTimeoutMs: num('RELIABILITY_CLIENT_TIMEOUT_MS', 15000)
  }
}
