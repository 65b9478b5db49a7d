import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

// Response compression, shared by the two places that compress: @fastify/compress for
// responses that are not cache hits (plugins/external/compress.ts), and the cache's compressed
// copies of cached responses (src/cache/compressed-copies.ts), so both pick the same encoding for
// the same request and skip the same small bodies.

export type ContentCoding = 'br' | 'gzip'

/** Preferred first when the client accepts both: smaller for the same CPU on JSON. */
export const CONTENT_CODINGS: readonly ContentCoding[] = ['br', 'gzip']

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

/** The body in the given coding, for a stored copy (synchronous: done once per stored page). */
export function compressBody (body: Buffer, coding: ContentCoding): Buffer {
  return coding === 'br'
    ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: STORED_BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipSync(body)
}
