import { PreconditionFailedError } from './errors.js'

/** The ETag of an order is its version: every update increments it. */
export function etagOf (version: number): string {
  return `"${version}"`
}

/**
 * Optimistic concurrency for clients: when the request carries If-Match, it must name the
 * order's current ETag (or be `*`), else 412. If-Match uses the strong comparison (RFC 9110,
 * 13.1.1): a weak tag such as W/"3" never matches, even when its opaque part is our version.
 */
export function assertIfMatch (orderId: string, ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined) return
  const current = etagOf(version)
  const accepted = ifMatch.split(',').map((tag) => tag.trim())
  if (accepted.includes('*') || accepted.includes(current)) return
  throw new PreconditionFailedError(orderId, ifMatch.slice(0, 100), current)
}
