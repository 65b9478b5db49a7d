import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

// Integers arrive from the environment as strings; Value.Convert turns "5001" into 5001
// before the schema is checked, so the config type and its runtime value never drift.
const PositiveInt = (def: number, max: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: max, default: def, description })
const NonNegativeInt = (def: number, max: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: max, default: def, description })

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 5001, description: 'HTTP port' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'HTTP bind address' }),
  MONGODB_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', default: 'mongodb://127.0.0.1:27017/flowops' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  CACHE_TTL_SECONDS: PositiveInt(60, 86400, 'TTL of cached list pages and orders'),
  LOCK_TTL_SECONDS: PositiveInt(10, 3600, 'TTL of a per-order lock'),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' }
  ),

  CORS_ORIGINS: Type.String({ default: '*', description: 'comma-separated allowed origins, or * for any' }),
  BODY_LIMIT_BYTES: PositiveInt(65536, 10 * 1024 * 1024, 'largest accepted request body'),

  CACHE_ENABLED: Type.Boolean({ default: true, description: 'false serves every read from MongoDB (X-Cache: BYPASS)' }),
  CACHE_REDIS_TIMEOUT_MS: PositiveInt(50, 10000, 'deadline of each read-path Redis call'),
  CACHE_BREAKER_THRESHOLD: PositiveInt(3, 1000, 'consecutive Redis failures that open the read-path breaker'),
  CACHE_BREAKER_COOLDOWN_MS: PositiveInt(2000, 600000, 'how long the open breaker skips Redis before probing'),
  CACHE_INVALIDATION_RETRY_MS: PositiveInt(100, 60000, 'first delay between retries of a failed invalidation'),

  REDIS_COMMAND_TIMEOUT_MS: PositiveInt(500, 60000, 'deadline of lock and invalidation Redis calls'),
  LOCK_RETRY_COUNT: NonNegativeInt(0, 100, 'extra attempts to take a held lock before answering 409'),
  LOCK_RETRY_DELAY_MS: PositiveInt(50, 60000, 'base delay between lock attempts (doubles each time)'),
  LOCK_RETRY_JITTER_MS: NonNegativeInt(50, 60000, 'random extra delay added to each lock retry'),

  MONGODB_TIMEOUT_MS: PositiveInt(2500, 600000, 'server selection, connect and socket timeout of the MongoDB driver')
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
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`)
  }
  return converted as Config
}

/** Turns CORS_ORIGINS into what @fastify/cors takes: true for any origin, or the list. */
export function corsOrigins (config: Config): true | string[] {
  const origins = config.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean)
  return origins.length === 0 || origins.includes('*') ? true : origins
}
