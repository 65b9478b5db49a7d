import { createHash } from 'node:crypto'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { PreconditionFailedError } from './errors.js'

// A response's representations (RFC 9110 8.8.3): the content codings a client is sent, and the
// entity tag of each. One module, because a coding is part of its representation's tag. A coding
// is added in CONTENT_CODINGS; that line gives it its tags (and If-Match's acceptance of them),
// its copy keys, which every invalidation script drops (src/cache/compressed-copies.ts), and a
// place in @fastify/compress's list; the compiler then asks for its compressor in COMPRESSORS.
//
// Response compression is shared by the two places that compress: @fastify/compress for
// responses that are not cache hits (plugins/external/compress.ts), and the cache's compressed
// copies of cached responses (src/cache/compressed-copies.ts), so both pick the same encoding for
// the same request and skip the same small bodies.

/** Preferred first when the client accepts both: smaller for the same CPU on JSON. */
export const CONTENT_CODINGS = ['br', 'gzip'] as const

export type ContentCoding = typeof CONTENT_CODINGS[number]

/** Whether a string names one of CONTENT_CODINGS. */
export const isContentCoding = (name: string): name is ContentCoding => (CONTENT_CODINGS as readonly string[]).includes(name)

/** Below this many bytes a compressed body saves less than it costs. */
export const COMPRESSION_THRESHOLD_BYTES = 1024

// Brotli quality 4 (@fastify/compress's default) costs about what gzip's default does and
// compresses JSON better; the cache compresses once per stored page, so it can afford more.
export const STREAM_BROTLI_QUALITY = 4
const STORED_BROTLI_QUALITY = 6

/**
 * The coding to send for an Accept-Encoding header (RFC 9110 12.5.3): br, else gzip, when the
 * client accepts it with a q above 0 (directly or through `*`); undefined for identity.
 */
export function negotiateCoding (acceptEncoding: string | string[] | undefined): ContentCoding | undefined {
  if (!acceptEncoding) return undefined
  const header = String(acceptEncoding)
  const known = negotiated.get(header)
  if (known !== undefined) return known === 'identity' ? undefined : known
  const coding = parseAcceptEncoding(header)
  // Clients send a handful of distinct headers; a bounded memo makes each a lookup.
  if (negotiated.size < NEGOTIATED_MEMO_SIZE) negotiated.set(header, coding ?? 'identity')
  return coding
}

const NEGOTIATED_MEMO_SIZE = 256
const negotiated = new Map<string, ContentCoding | 'identity'>()

function parseAcceptEncoding (header: string): ContentCoding | undefined {
  const q = new Map<string, number>()
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    if (!name) continue
    const weight = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
    q.set(name.trim(), weight === undefined ? 1 : Number(weight))
  }
  const wildcard = q.get('*') ?? 0
  return CONTENT_CODINGS.find((coding) => (q.get(coding) ?? wildcard) > 0)
}

/** Each coding's compressor for a stored copy: a Record, so a coding without one does not compile. */
const COMPRESSORS: Record<ContentCoding, (body: Buffer) => Buffer> = {
  br: (body) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: STORED_BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  gzip: (body) => gzipSync(body)
}

/** The body in the given coding, for a stored copy (synchronous: done once per stored page). */
export function compressBody (body: Buffer, coding: ContentCoding): Buffer {
  return COMPRESSORS[coding](body)
}

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

const CODED_TAG = new RegExp(`-(${CONTENT_CODINGS.join('|')})"$`)

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
