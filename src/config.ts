import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

// Integers arrive from the environment as strings; Value.Convert turns "5001" into 5001
// before the schema is checked, so the config type and its runtime value never drift.
const PositiveInt = (def: number, max: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: max, default: def, description })
const NonNegativeInt = (def: number, max: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: max, default: def, description })
// host:port (a name or IPv4 address; no IPv6 literal) with a port in 1..65535; a list is
// comma-separated.
const HOST_PORT = '[^\\s,:]+:([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])'
const HostPortList = (description: string) =>
  Type.String({ pattern: `^(${HOST_PORT}(\\s*,\\s*${HOST_PORT})*)?$`, default: '', description })

const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 5001, description: 'HTTP port' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'HTTP bind address' }),
  MONGODB_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', default: 'mongodb://127.0.0.1:27017/flowops' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  REDIS_CLUSTER_NODES: HostPortList('Redis Cluster seed nodes (host:port, comma-separated); when set it wins over REDIS_URL'),
  REDIS_SENTINELS: HostPortList('Redis Sentinels (host:port, comma-separated); needs REDIS_SENTINEL_MASTER'),
  REDIS_SENTINEL_MASTER: Type.String({ pattern: '^[\\w.-]*$', default: '', description: 'the master name the sentinels monitor' }),
  WORKERS: NonNegativeInt(1, 256, 'HTTP worker processes (Node cluster module); 0 is one per core'),
  CACHE_TTL_SECONDS: PositiveInt(60, 86400, 'TTL of cached list pages and orders'),
  LOCK_TTL_SECONDS: PositiveInt(10, 3600, 'TTL of a per-order lock'),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' }
  ),

  CORS_ORIGINS: Type.String({ default: '*', description: 'comma-separated allowed origins, or * for any' }),
  BODY_LIMIT_BYTES: PositiveInt(65536, 10 * 1024 * 1024, 'largest accepted request body'),
  REQUEST_TIMEOUT_MS: PositiveInt(30000, 600000, 'a request whose headers and body have not all arrived by then gets 408 and its connection closed'),
  METRICS_PORT: Type.String({ pattern: '^(|[1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$', default: '', description: 'serve /metrics on this port of its own (HOST) instead of the service\'s; empty: the service\'s port' }),
  METRICS_TOKEN: Type.String({ default: '', description: 'bearer token required to read /metrics; empty: open' }),
  DOCS_ENABLED: Type.Boolean({ default: true, description: 'serve /docs and /openapi.json' }),
  KEEP_ALIVE_TIMEOUT_MS: PositiveInt(72000, 600000, 'how long an idle keep-alive connection is kept open (above a load balancer\'s own idle timeout)'),

  CACHE_ENABLED: Type.Boolean({ default: true, description: 'false serves every read from MongoDB (X-Cache: BYPASS)' }),
  CACHE_REDIS_TIMEOUT_MS: PositiveInt(50, 10000, 'deadline of each read-path Redis call'),
  CACHE_BREAKER_THRESHOLD: PositiveInt(3, 1000, 'consecutive Redis failures that open the read-path breaker'),
  CACHE_BREAKER_COOLDOWN_MS: PositiveInt(2000, 600000, 'how long the open breaker skips Redis before probing'),
  CACHE_NEAR_MAX_BYTES: Type.Integer({
    minimum: 0, maximum: 2 ** 40, default: 0, description: 'per-instance near cache size in bytes; 0 turns it off'
  }),
  CACHE_NEAR_LEASE_MS: PositiveInt(10, 10000, 'a near hit is served only within this long of a heartbeat answered through the invalidation connection, and a write seen by a near cache answers no sooner than this long after its invalidation was published: the same on every instance'),
  CACHE_BYPASS_MAX_CONCURRENT: PositiveInt(32, 10000, 'reads served from MongoDB while the cache cannot be used (BYPASS) that run at once, per process'),
  CACHE_BYPASS_MAX_QUEUED: NonNegativeInt(512, 1000000, 'BYPASS reads that may wait for one of those; past it a read is 503 OVERLOADED'),
  CACHE_LEASE_WAIT_MS: NonNegativeInt(300, 60000, 'on a miss, how long an instance waits for another instance that is loading the same key (a lease in Redis) before it loads by itself; 0 turns leases off'),
  CACHE_REFRESH_AHEAD_PERCENT: NonNegativeInt(10, 90, 'a hit in the last this-many percent of its entry\'s TTL reloads the entry in the background (one instance per key); 0 turns eager refresh off'),
  CACHE_GRACE_SECONDS: NonNegativeInt(0, 86400, 'entries are kept this long past their TTL and served (X-Cache: GRACE) while their generation is current and MongoDB cannot answer; 0 keeps the plain TTL'),
  CACHE_SOFT_TIMEOUT_MS: PositiveInt(500, 600000, 'with CACHE_GRACE_SECONDS, how long a reload of an entry past its TTL may take before the entry is served in grace (the reload goes on and fills)'),
  CACHE_INVALIDATION_RETRY_MS: PositiveInt(100, 60000, 'first delay between retries of a failed invalidation'),

  REDIS_COMMAND_TIMEOUT_MS: PositiveInt(500, 60000, 'deadline of lock and invalidation Redis calls'),
  LOCK_RETRY_COUNT: NonNegativeInt(0, 100, 'extra attempts to take a held lock before answering 409'),
  LOCK_RETRY_DELAY_MS: PositiveInt(50, 60000, 'base delay between lock attempts (doubles each time)'),
  LOCK_RETRY_JITTER_MS: NonNegativeInt(50, 60000, 'random extra delay added to each lock retry'),
  LOCK_FALLBACK: Type.Union([Type.Literal('none'), Type.Literal('optimistic')], {
    default: 'none',
    description: 'when Redis cannot be reached for a lock: none answers PUT and DELETE 503 LOCK_UNAVAILABLE; ' +
      'optimistic writes without the lock, fenced by the version (409 VERSION_CONFLICT on a lost race)'
  }),

  MONGODB_TIMEOUT_MS: PositiveInt(2500, 600000, 'server selection, connect and socket timeout of the MongoDB driver'),
  MONGODB_WRITE_CONCERN: Type.String({
    pattern: '^(majority|[1-9]\\d?)$', default: 'majority', description: 'w of every write: majority, or how many members must acknowledge it'
  }),
  MONGODB_READ_PREFERENCE: Type.Union([
    Type.Literal('primary'), Type.Literal('primaryPreferred'), Type.Literal('secondary'),
    Type.Literal('secondaryPreferred'), Type.Literal('nearest')
  ], { default: 'primary', description: 'which replica-set members serve reads' }),

  DRAIN_GRACE_MS: NonNegativeInt(3000, 60000, 'on shutdown, how long open connections are answered (with Connection: close) before the server stops listening'),
  SHUTDOWN_TIMEOUT_MS: PositiveInt(10000, 600000, 'on SIGTERM/SIGINT, how long in-flight requests may take before the process exits 1'),
  TRUST_PROXY: Type.String({
    default: '',
    description: 'empty: the client IP is the socket address; true: trust X-Forwarded-For from anyone; else comma-separated proxy addresses or CIDRs to trust'
  }),

  API_TOKENS: Type.String({ default: '', description: 'comma-separated bearer tokens required by POST, PUT and DELETE; empty turns authentication off' }),

  RATE_LIMIT_MAX: NonNegativeInt(0, 1_000_000, 'requests per client IP per window on the API routes; 0 turns rate limiting off'),
  RATE_LIMIT_WINDOW_MS: PositiveInt(60000, 86_400_000, 'length of the rate-limit window'),
  RATE_LIMIT_REDIS_TIMEOUT_MS: PositiveInt(100, 10000, 'deadline of the rate-limit Redis call; past it the limit is skipped, not the request'),

  LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: NonNegativeInt(1000, 60000, 'mean event-loop delay above which requests get 503 OVERLOADED; 0 off'),
  LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION: Type.Number({
    minimum: 0, maximum: 1, default: 0, description: 'event-loop utilisation (0..1) above which requests get 503 OVERLOADED; 0 off'
  }),
  LOAD_SHEDDING_MAX_HEAP_USED_BYTES: NonNegativeInt(0, Number.MAX_SAFE_INTEGER, 'V8 heap used above which requests get 503 OVERLOADED; 0 off'),
  LOAD_SHEDDING_MAX_RSS_BYTES: NonNegativeInt(0, Number.MAX_SAFE_INTEGER, 'resident set size above which requests get 503 OVERLOADED; 0 off'),
  LOAD_SHEDDING_SAMPLE_INTERVAL_MS: PositiveInt(1000, 60000, 'how often the load-shedding measures are sampled')
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const known = Object.keys(ConfigSchema.properties)

/**
 * Reads the configuration from an environment-like record, applying defaults, and fails with
 * a message that names every bad variable. Only known names are read: the rest of the
 * environment is ignored.
 */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, unknown> = {}
  for (const name of known) {
    const raw = env[name]
    if (raw !== undefined && raw !== '') picked[name] = raw.trim()
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, picked))
  const problems = [...Value.Errors(ConfigSchema, converted)].map((error) => {
    const name = error.path.replace(/^\//, '')
    return `${name}=${JSON.stringify(picked[name] ?? null)}: ${error.message}`
  })
  problems.push(...topologyProblems(converted as Config))
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`)
  }
  return converted as Config
}

/** The Redis variables that only make sense together, or not together. */
function topologyProblems (config: Config): string[] {
  const problems: string[] = []
  const sentinels = config.REDIS_SENTINELS !== ''
  if (sentinels !== (config.REDIS_SENTINEL_MASTER !== '')) {
    problems.push(`REDIS_SENTINELS=${JSON.stringify(config.REDIS_SENTINELS)}, REDIS_SENTINEL_MASTER=${JSON.stringify(config.REDIS_SENTINEL_MASTER)}: set both or neither`)
  }
  if (sentinels && config.REDIS_CLUSTER_NODES !== '') {
    problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS: set one of them, not both')
  }
  return problems
}

/** Splits a comma-separated variable into its trimmed, non-empty entries. */
function list (value: string): string[] {
  return value.split(',').map((entry) => entry.trim()).filter(Boolean)
}

/** The bearer tokens of API_TOKENS; empty when authentication is off. */
export function apiTokens (config: Config): string[] {
  return [...new Set(list(config.API_TOKENS))]
}

/** Turns TRUST_PROXY into Fastify's trustProxy option. */
export function trustProxy (config: Config): boolean | string[] {
  const value = config.TRUST_PROXY
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  return list(value)
}

/** A host:port list (REDIS_CLUSTER_NODES, REDIS_SENTINELS) as { host, port } pairs. */
export function hostPorts (value: string): Array<{ host: string, port: number }> {
  return list(value).map((entry) => {
    const at = entry.lastIndexOf(':')
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) }
  })
}

/** How many HTTP workers to run: WORKERS, with 0 meaning one per core. */
export function workerCount (config: Config, cores: number): number {
  return config.WORKERS === 0 ? cores : config.WORKERS
}

/** Turns CORS_ORIGINS into what @fastify/cors takes: true for any origin, or the list. */
export function corsOrigins (config: Config): true | string[] {
  const origins = list(config.CORS_ORIGINS)
  return origins.length === 0 || origins.includes('*') ? true : origins
}
