import t from 'tap'
import { build, createOrder, redisFor } from '../helper.js'
import { COPY_SUFFIXES, copySuffix } from '../../src/cache/compressed-copies.js'
import type { Invalidation, Rewrite } from '../../src/cache/invalidation.js'
import { createInvalidator } from '../../src/cache/invalidator.js'
import { createWriteSettle } from '../../src/cache/near/write-settle.js'
import { redisKeys, standaloneKeys } from '../../src/cache/keys.js'

// The copy-key suffixes come from one list (COPY_SUFFIXES, src/cache/compressed-copies.ts)
// that the invalidation script receives: a coding added to it is dropped with its entry by
// every rewrite and deletion, with no script or key code to change. Here a coding that does
// not exist yet ('zstd') is added to the list an invalidator is given, and its copies of a
// real page and order, in a real Redis, go with them.

const ZSTD = copySuffix('zstd')
const changedEntity = (id: string, rewrite: Rewrite | null = null): Invalidation => ({ everyListPage: false, changed: [{ id, rewrite }] })

t.test('a coding added to the list: rewrites and deletions drop its copies too', async (t) => {
  const app = await build(t)
  const redis = redisFor(t, app)
  const order = await createOrder(app)
  const pageKey = redisKeys.listPage(1, 10)
  const entityKey = redisKeys.entity(order._id)
  const page = await app.inject('/orders?limit=10')
  await app.inject(`/orders/${order._id}`)
  t.equal(await redis.exists(pageKey, entityKey), 2, 'the page and the order are cached')
  t.notOk(COPY_SUFFIXES.includes(ZSTD), 'zstd is not a coding the service keeps copies in')

  const invalidator = createInvalidator({
    redis: app.redis,
    keys: standaloneKeys,
    metrics: app.serviceMetrics,
    log: app.log,
    timeoutMs: 1000,
    retryMs: 100,
    entityGenerationTtlSeconds: 180,
    settle: createWriteSettle(10),
    channel: redisKeys.invalidationChannel,
    copySuffixes: [...COPY_SUFFIXES, ZSTD]
  })
  t.teardown(() => invalidator.close())
  const plantCopies = () => redis.mset(pageKey + ZSTD, 'zstd copy of the page', entityKey + ZSTD, 'zstd copy of the order')

  // A rewrite: the page holds exactly the order's bytes, so it stays, rewritten; its copies go.
  const bytes = JSON.stringify(page.json().data[0])
  t.ok(page.body.includes(bytes), 'the page holds the order\'s bytes as serialised')
  await plantCopies()
  await invalidator.invalidate(changedEntity(order._id, { from: bytes, to: bytes.replace(order.customer, 'Rewritten Customer') }))
  t.equal(await redis.exists(pageKey), 1, 'the page was rewritten in place')
  t.match(await redis.get(pageKey), /Rewritten Customer/)
  t.equal(await redis.exists(pageKey + ZSTD), 0, 'the rewritten page\'s zstd copy went with the rewrite')
  t.equal(await redis.exists(entityKey, entityKey + ZSTD), 0, 'the order\'s entry and its zstd copy went')

  // A deletion: no rewrite, so the page goes, and its copies with it.
  await app.inject(`/orders/${order._id}`)
  await plantCopies()
  await invalidator.invalidate(changedEntity(order._id))
  t.equal(await redis.exists(pageKey, pageKey + ZSTD), 0, 'the deleted page\'s zstd copy went with it')
  t.equal(await redis.exists(entityKey, entityKey + ZSTD), 0, 'and the order\'s')

  // The service's own list, without zstd, leaves such a copy: the list is what decides.
  await plantCopies()
  await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Through The Service' } })
  t.equal(await redis.exists(entityKey + ZSTD), 1, 'a coding not in the service\'s list is not the scripts\' to know')
})
