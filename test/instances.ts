import type { Test } from 'tap'
import { build, type TestApp } from './helper.js'
import { throughRelay } from './relay.js'

// Service instances that tests put side by side, each built by helper.ts's build(): several on
// one database and one Redis; a reader whose Redis traffic goes through a relay (to pause it
// between its MongoDB read and its cache fill); an instance whose MongoDB traffic does (to hold
// its update). And the short Redis deadlines the fault tests run with. Not a test file itself.

/**
 * Read-path and lock/invalidation deadlines short enough that a fault test sees a frozen or
 * stopped Redis quickly. Each test file adds the knobs its scenario needs (breaker cooldown,
 * invalidation retry).
 */
export const FAST_DEADLINES = { CACHE_REDIS_TIMEOUT_MS: '50', REDIS_COMMAND_TIMEOUT_MS: '300' }

/** `count` instances, as a tuple when `count` is a literal. */
type Instances<N extends number, R extends TestApp[] = []> = number extends N ? TestApp[] : R['length'] extends N ? R : Instances<N, [TestApp, ...R]>

/**
 * `count` instances on one database and one Redis: the first built with `env` (its own isolated
 * database and Redis unless `env` names them), the others with `env` and the first's
 * MONGODB_URL and REDIS_URL.
 */
export async function instances<N extends number> (t: Test, count: N, env: Record<string, string> = {}): Promise<Instances<N>> {
  const first = await build(t, { env })
  const shared = { ...env, MONGODB_URL: first.config.MONGODB_URL, REDIS_URL: first.config.REDIS_URL }
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => build(t, { env: shared })))
  return [first, ...rest] as Instances<N>
}

/**
 * A writer, and a reader on its database and Redis whose Redis connection goes through a relay:
 * holding the reader's fill script ('eval') pauses it between its MongoDB read and its cache
 * fill. The held fill is in flight, so by default the reader's read-path deadline outlasts any
 * hold.
 */
export async function pausedReader (t: Test, readerEnv: Record<string, string> = { CACHE_REDIS_TIMEOUT_MS: '10000' }) {
  const writer = await build(t)
  const { relay, url } = await throughRelay(t, writer.config.REDIS_URL)
  const reader = await build(t, { env: { ...readerEnv, MONGODB_URL: writer.config.MONGODB_URL, REDIS_URL: url } })
  return { writer, reader, relay }
}

/**
 * An instance on `direct`'s database and Redis whose MongoDB connection goes through a relay:
 * holding its conditional update ('findAndModify') pauses a PUT or DELETE under its lock, holding
 * a reply pauses a read.
 */
export async function mongoRelayed (t: Test, direct: TestApp, env: Record<string, string> = {}) {
  const { relay, url } = await throughRelay(t, direct.config.MONGODB_URL)
  const app = await build(t, { env: { ...env, MONGODB_URL: url, REDIS_URL: direct.config.REDIS_URL } })
  return { app, relay }
}

/**
 * Each of `apps` reads `url` (an order's, or a list page holding it) and must be shown the order
 * with `customer`: after a write another instance acknowledged, the check that no instance is
 * served the data from before it.
 */
export async function everyInstanceShows (t: Test, apps: TestApp[], url: string, orderId: string, customer: string, what = 'no instance is served the pre-write data'): Promise<void> {
  for (const app of apps) {
    const body = (await app.inject(url)).json()
    const shown = url.startsWith('/orders/') ? body : body.data.find((o: { _id: string }) => o._id === orderId)
    t.equal(shown?.customer, customer, what)
  }
}

/**
 * The paused-reader choreography: `reader` reads `url` with its MongoDB reply carrying `before`
 * held by `relay` (it has the pre-write data in hand and has not filled yet); `writer` commits a
 * PUT of the order's customer to `after` meanwhile; then the reply goes on. Resolves to the read's
 * answer.
 */
export async function writeWhileReadHeld (t: Test, { reader, writer, relay }: { reader: TestApp, writer: TestApp, relay: { holdNextReply: (text: string) => Promise<void>, release: () => void } },
  url: string, orderId: string, before: string, after: string) {
  const held = relay.holdNextReply(before)
  const read = reader.inject(url)
  await held
  const put = await writer.inject({ method: 'PUT', url: `/orders/${orderId}`, payload: { customer: after } })
  t.equal(put.statusCode, 200, 'another instance commits and invalidates meanwhile')
  relay.release()
  return await read
}
