import { createHash } from 'node:crypto'
import { PreconditionFailedError } from './errors.js'

// Entity tags (RFC 9110 8.8.3). An order's tag is its version, "3"; a list page's is a digest of
// its bytes, computed when the page is stored (and again by the script that rewrites a page in
// place, with the same digest: src/cache/scripts/bump-generations.ts), so a hit sends it
// without computing anything. A compressed representation is a different representation: its
// tag carries the coding, "3-br", "3-gzip", so no cache takes one for the other.

/** The ETag of an order is its version: every update increments it. */
export function etagOf (version: number): string {
  return `"${version}"`
}

/** How many hex digits of the SHA-1 a list page's tag keeps (80 bits). */
export const CONTENT_TAG_DIGITS = 20

/** The tag of a body that has no version (a list page): a digest of its bytes. */
export function contentTag (body: string | Buffer): string {
  return `"${createHash('sha1').update(body).digest('hex').slice(0, CONTENT_TAG_DIGITS)}"`
}

/** The tag of the same representation in a content coding: "3" in br is "3-br". */
export function tagInCoding (etag: string, coding: string | undefined): string {
  return coding && etag.endsWith('"') ? `${etag.slice(0, -1)}-${coding}"` : etag
}

const CODED_TAG = /-(br|gzip)"$/

/** The tag with any coding suffix removed: every coding of one version is that version. */
const identityOf = (tag: string): string => tag.replace(CODED_TAG, '"')

const tagsOf = (field: string): string[] => field.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '')

/**
 * Optimistic concurrency for clients: when the request carries If-Match, it must name the
 * order's current ETag (or be `*`), else 412. If-Match uses the strong comparison (RFC 9110,
 * 13.1.1): a weak tag such as W/"3" never matches, even when its opaque part is our version.
 * The tag of any coding of the current version matches ("3-br" as well as "3").
 */
export function assertIfMatch (orderId: string, ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined) return
  const current = etagOf(version)
  const accepted = tagsOf(ifMatch)
  if (accepted.includes('*') || accepted.some((tag) => identityOf(tag) === current)) return
  throw new PreconditionFailedError(orderId, ifMatch.slice(0, 100), current)
}

/**
 * If-None-Match (RFC 9110 13.1.2), weak comparison: whether the client's copy is the current
 * one, so that a 304 with no body answers. `*` matches any current representation.
 */
export function noneMatchHolds (ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch || !etag) return false
  const opaque = etag.replace(/^W\//, '')
  return tagsOf(ifNoneMatch).some((tag) => tag === '*' || tag.replace(/^W\//, '') === opaque)
}
