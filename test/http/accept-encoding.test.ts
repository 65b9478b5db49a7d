import t from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { COMPRESSION_THRESHOLD_BYTES } from '../../src/http/representations.js'
import { build, validOrder } from '../helper.js'

// Responses that are not cache hits are compressed by @fastify/compress, which alone would take
// `*` for gzip even over an explicit gzip;q=0 (plugins/external/compress.ts); they must get the
// coding the cache's negotiation (negotiateCoding, RFC 9110 12.5.3) picks for the same header.

const CASES: Array<[string, 'br' | 'gzip' | undefined]> = [
  ['br;q=0, gzip;q=0, *', undefined],
  ['gzip;q=0, *', 'br'],
  ['br;q=0, *', 'gzip'],
  ['*', 'br'],
  ['gzip', 'gzip']
]

// An order big enough that its 201 answer is over the compression threshold.
const bigOrder = {
  ...validOrder,
  items: Array.from({ length: 40 }, (_, i) => ({ sku: `SKU-${i}`, qty: 1 + i, price: 0.5 }))
}

// Decoded by the coding the response says it has, so a wrong coding fails on the header alone.
function decoded (body: Buffer, coding: string | string[] | undefined): unknown {
  const bytes = coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body
  return JSON.parse(bytes.toString('utf8'))
}

t.test('an uncached response of 1 KiB or more gets the coding negotiateCoding picks', async (t) => {
  const app = await build(t)
  for (const [acceptEncoding, coding] of CASES) {
    await t.test(`Accept-Encoding: ${acceptEncoding}`, async (t) => {
      const created = await app.inject({ method: 'POST', url: '/orders', payload: bigOrder, headers: { 'accept-encoding': acceptEncoding } })
      t.equal(created.statusCode, 201)
      t.equal(created.headers['content-encoding'], coding, `POST /orders: ${coding ?? 'identity'}`)
      const order = decoded(created.rawPayload, created.headers['content-encoding']) as { items: unknown[] }
      t.equal(order.items.length, bigOrder.items.length, 'the body decodes to the order')
      if (coding === undefined) t.ok(created.rawPayload.length >= COMPRESSION_THRESHOLD_BYTES, 'over the threshold')

      const document = await app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': acceptEncoding } })
      t.equal(document.statusCode, 200)
      t.equal(document.headers['content-encoding'], coding, `GET /openapi.json: ${coding ?? 'identity'}`)
      t.match(decoded(document.rawPayload, document.headers['content-encoding']), { openapi: '3.0.3' }, 'the body decodes to the document')
      if (coding === undefined) t.ok(document.rawPayload.length >= COMPRESSION_THRESHOLD_BYTES, 'over the threshold')
    })
  }
})
