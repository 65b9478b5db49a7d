/**
 * Adds a field to Vary unless it is there already (field names are case-insensitive). Lower
 * case, as @fastify/compress writes and looks for it, so neither adds it twice.
 */
export function appendVary (current: unknown, field: string): string {
  const existing = current === undefined ? '' : String(current)
  if (existing.toLowerCase().split(',').some((name) => name.trim() === field)) return existing
  return existing === '' ? field : `${existing}, ${field}`
}

/**
 * appendVary(current, 'accept-encoding'), remembering the last answer: every cached GET arrives
 * with the same Vary from the hooks before it (CORS's `Origin`, or none), so this is computed
 * once rather than split and lower-cased on every hit.
 */
export function varyWithAcceptEncoding (): (current: unknown) => string {
  let lastCurrent: unknown = Symbol('none')
  let lastVary = ''
  return (current) => {
    if (current !== lastCurrent) {
      lastVary = appendVary(current, 'accept-encoding')
      lastCurrent = current
    }
    return lastVary
  }
}
