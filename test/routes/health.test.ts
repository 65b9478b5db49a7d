import t from 'tap'
import { build } from '../helper.js'

t.test('GET /health answers liveness', async (t) => {
  const app = await build(t)
  const response = await app.inject('/health')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok', service: 'order-service' })
})

t.test('GET /health/ready reports MongoDB and Redis', async (t) => {
  const app = await build(t)
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  t.match(response.json(), {
    status: 'ok',
    service: 'order-service',
    mongodb: 'up',
    redis: 'up',
    cache: { enabled: true, breaker: 'closed', invalidationPending: false }
  })
})
