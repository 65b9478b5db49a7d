import t from 'tap'
import { build } from '../helper.js'

// The request id: taken from X-Request-Id when usable (src/app.ts), echoed by plugins/app/request-id.ts.

t.test('X-Request-Id: a usable incoming id is echoed; a missing or unusable one is replaced', async (t) => {
  const app = await build(t)
  const given = await app.inject({ url: '/orders', headers: { 'x-request-id': 'trace-42.abc:def' } })
  t.equal(given.headers['x-request-id'], 'trace-42.abc:def', 'echoed as sent')

  const none = await app.inject('/orders')
  t.match(none.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'generated when absent')

  for (const unusable of ['x'.repeat(129), 'has spaces in it', 'quote"d', '']) {
    const response = await app.inject({ url: '/orders', headers: { 'x-request-id': unusable } })
    t.not(response.headers['x-request-id'], unusable, `replaced: ${JSON.stringify(unusable.slice(0, 20))}`)
    t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  }

  const ids = new Set<unknown>()
  for (let i = 0; i < 5; i++) ids.add((await app.inject('/health')).headers['x-request-id'])
  t.equal(ids.size, 5, 'a new id per request')

  const error = await app.inject({ method: 'POST', url: '/orders', headers: { 'x-request-id': 'failing-request-1' }, payload: {} })
  t.equal(error.statusCode, 400)
  t.equal(error.headers['x-request-id'], 'failing-request-1', 'echoed on errors too')
  const notFound = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'lost-request-1' } })
  t.equal(notFound.headers['x-request-id'], 'lost-request-1', 'and on unknown routes')
})
