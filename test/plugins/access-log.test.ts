import t from 'tap'
import type { Test } from 'tap'
import { isolatedMongoUrl, isolatedRedisUrl } from '../helper.js'
import { startBuiltServer, type LogLine } from '../built-server.js'
import { freePort } from '../free-port.js'

// One access-log line per request at info (plugins/app/access-log.ts): method, URL, status,
// time, request id and X-Cache, written once the response has gone; the start of a request only
// at debug; none of either at warn.

interface AccessLine extends Omit<LogLine, 'code'> {
  req?: { method: string, url: string, remoteAddress: string }
  res?: { statusCode: number }
  responseTime?: number
  cache?: string
  code?: string
}

async function serverAt (t: Test, level: string) {
  const port = await freePort()
  const server = startBuiltServer(t, {
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: level, MONGODB_URL: isolatedMongoUrl(), REDIS_URL: await isolatedRedisUrl(t)
  })
  // Answering is what counts: at warn the start-up lines are not written.
  for (let i = 0; ; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/health`)
      break
    } catch (err) {
      if (i > 300) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { server, base: `http://127.0.0.1:${port}` }
}

t.test('LOG_LEVEL=info: exactly one line per request, with what users expect of an access log', async (t) => {
  const { server, base } = await serverAt(t, 'info')
  const from = server.logs.length
  for (let i = 0; i < 2; i++) await fetch(`${base}/orders?page=1&limit=5`, { headers: { 'x-request-id': `access-${i}` } })
  await fetch(`${base}/orders/not-an-id`, { headers: { 'x-request-id': 'access-bad' } })
  await server.logged((line) => line.reqId === 'access-bad', 10_000, from)
  const lines = server.logs.slice(from).filter((line) => line.reqId?.startsWith('access-')) as unknown as AccessLine[]
  t.same(lines.map((line) => line.reqId), ['access-0', 'access-1', 'access-bad'], 'one line per request, none before the response')
  t.same(lines.map((line) => line.msg), ['request completed', 'request completed', 'request completed'])
  t.match(lines[0], { req: { method: 'GET', url: '/orders?page=1&limit=5', remoteAddress: '127.0.0.1' }, res: { statusCode: 200 }, cache: 'MISS' })
  t.match(lines[1], { res: { statusCode: 200 }, cache: 'HIT' }, 'X-Cache is in the line')
  t.match(lines[2], { res: { statusCode: 400 }, code: 'VALIDATION_ERROR' }, 'an error answer: its code in the same line, no other line')
  t.equal(lines[2]?.cache, undefined, 'no X-Cache where the response has none')
  t.ok(lines.every((line) => typeof line.responseTime === 'number' && line.responseTime >= 0), 'with the time taken (ms)')
  t.equal(server.logs.filter((line) => line.msg === 'incoming request').length, 0, 'no "incoming request" line at info')
})

t.test('LOG_LEVEL=debug adds the start of each request; LOG_LEVEL=warn writes no access line', async (t) => {
  const debug = await serverAt(t, 'debug')
  await fetch(`${debug.base}/orders`, { headers: { 'x-request-id': 'debug-1' } })
  await debug.server.logged((line) => line.reqId === 'debug-1' && line.msg === 'request completed', 10_000)
  t.same(debug.server.logs.filter((line) => line.reqId === 'debug-1').map((line) => line.msg).filter((msg) => msg === 'incoming request' || msg === 'request completed'),
    ['incoming request', 'request completed'])

  const warn = await serverAt(t, 'warn')
  await fetch(`${warn.base}/orders`, { headers: { 'x-request-id': 'warn-1' } })
  // Then a request whose answer is awaited after it, so that any line of the first would be in by now.
  await fetch(`${warn.base}/health`)
  t.equal(warn.server.logs.filter((line) => line.reqId === 'warn-1').length, 0, 'nothing logged for a request at warn')
})
