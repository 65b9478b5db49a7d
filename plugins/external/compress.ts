import fp from 'fastify-plugin'
import compress from '@fastify/compress'
import { COMPRESSION_THRESHOLD_BYTES, CONTENT_CODINGS, STREAM_BROTLI_QUALITY } from '../../src/http/compression.js'
import { constants } from 'node:zlib'

/**
 * Compresses responses of COMPRESSION_THRESHOLD_BYTES or more for clients that accept br or
 * gzip (@fastify/compress, streaming). A cache hit is compressed already: the cache keeps a
 * compressed copy of each stored page and sends it with Content-Encoding set, which this
 * plugin leaves alone. Request bodies are not decompressed: the API accepts JSON as sent.
 */
export default fp(async function compression (app) {
  await app.register(compress, {
    encodings: [...CONTENT_CODINGS],
    threshold: COMPRESSION_THRESHOLD_BYTES,
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: STREAM_BROTLI_QUALITY } },
    globalDecompression: false
  })
}, { name: 'compression' })
