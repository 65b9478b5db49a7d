import { isServerError, type LogEntry } from '../request-log.js'
import { check, examples, type Check } from './check.js'

// A rolling restart behind nginx loses nothing: no request through the balancer fails (5xx,
// reset, or no answer) while each instance in turn drains and comes back.

export function rollingRestartChecks (entries: LogEntry[]): Check[] {
  const failed = entries.filter((e) => isServerError(e) || e.error !== undefined)
  const posts = entries.filter((e) => e.method === 'POST').length
  return [
    check('rolling restart behind nginx: zero client errors', failed.length === 0 && entries.length > 0,
      `${entries.length} requests through nginx (${posts} POST) while each instance was restarted in turn; ${failed.length} failed` +
      examples(failed.map((e) => `#${e.seq} ${e.method} ${e.path} -> ${e.status || e.error} ${e.code ?? ''}`.trim())))
  ]
}
