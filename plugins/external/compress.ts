import fp from 'fastify-plugin'
import compress from '@fastify/compress'
import type { DoneFuncWithErrOrRes, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { COMPRESSION_THRESHOLD_BYTES, CONTENT_CODINGS, STREAM_BROTLI_QUALITY, negotiateCoding, tagInCoding } from '../../src/http/representations.js'
import { constants } from 'node:zlib'
import { asArray } from '../../src/http/as-array.js'

/**
 * @fastify/compress reads `*` in Accept-Encoding as gzip, whatever q the header gives gzip
 * itself: `br;q=0, gzip;q=0, *` would get gzip, `gzip;q=0, *` gzip rather than br. A header
 * with `*` is replaced by the coding negotiateCoding picks for it (RFC 9110 12.5.3, as the
 * cache's compressed copies are chosen), or `identity`, which @fastify/compress leaves
 * uncompressed. Headers without `*`, nearly all of them, are left as they are (one string
 * search): @fastify/compress honours their q=0. An onSend hook declared here runs before
 * @fastify/compress's (a route's own), whichever earlier hook answered the request.
 */
function negotiateWildcard (request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: DoneFuncWithErrOrRes): void {
  const header = request.headers['accept-encoding']
  if (header !== undefined && header.includes('*')) request.headers['accept-encoding'] = negotiateCoding(header) ?? 'identity'
  done(null, payload)
}

/**
 * A compressed representation has a tag of its own (RFC 9110 8.8.3): "3" sent in gzip is
 * "3-gzip". A route-level onSend hook, added after @fastify/compress's own, so it runs after it.
 */
function tagPerCoding (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: DoneFuncWithErrOrRes): void {
  const coding = reply.getHeader('content-encoding')
  const etag = reply.getHeader('etag')
  if (typeof coding === 'string' && typeof etag === 'string') reply.header('etag', tagInCoding(etag, coding))
  done(null, payload)
}

/**
 * Compresses responses of COMPRESSION_THRESHOLD_BYTES or more for clients that accept br or
 * gzip (@fastify/compress, streaming). A cache hit is compressed already: the cache keeps a
 * compressed copy of each stored page and sends it with Content-Encoding set, which this
 * plugin leaves alone. Request bodies are not decompressed: the API accepts JSON as sent.
 */
export default fp(async function compression (app) {
  app.addHook('onSend', negotiateWildcard)
  await app.register(compress, {
    encodings: [...CONTENT_CODINGS],
    threshold: COMPRESSION_THRESHOLD_BYTES,
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: STREAM_BROTLI_QUALITY } },
    globalDecompression: false
  })
  // After @fastify/compress's own onRoute hook, so this runs after its onSend. The cached GET
  // routes tag their own answers, every one already in its coding (plugins/app/cache.ts).
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.cache?.at) return
    route.onSend = [...asArray(route.onSend), tagPerCoding]
  })
}, { name: 'compression' })
