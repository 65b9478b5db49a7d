import pino from 'pino'
import type { Config } from './config.js'

/**
 * The logger's options: the service's (src/app.ts), and the cluster primary's
 * (src/cluster-primary.ts), which imports them from here rather than from src/app.ts so that it
 * does not load the service's plugins and routes. `prettyLogs`: to stdout through pino-pretty
 * (development) instead of JSON lines.
 *
 * JSON lines go to stdout asynchronously: pino's default destination writes each line with its
 * own blocking write(2), two per request at LOG_LEVEL=info, which measured as the largest cost of a
 * cache hit (bench/REPORT.md). An asynchronous destination writes what has accumulated while the
 * previous write was under way in one call, so under load lines are batched and when idle each is
 * written at once. Nothing is held back for long: pino flushes the rest synchronously when the
 * process exits (close-with-grace's exit after draining, or a fatal error).
 */
export function loggerOptions ({ config, prettyLogs = false }: { config: Pick<Config, 'LOG_LEVEL'>, prettyLogs?: boolean }) {
  return {
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization'],
    ...(prettyLogs
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : { stream: pino.destination({ dest: 1, sync: false }) })
  }
}
