import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { DeadlineExceededError, withDeadline } from '../src/redis/call-guards.js'
import { TEST_REDIS_URL } from './helper.js'

// withDeadline (src/redis/call-guards.ts): the per-call deadline of the cache's Redis calls.

/** Keeps this process busy, as a long GC pause or a saturated CPU would. */
function stallFor (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy */ }
}

/** A connected client of the test Redis, disconnected when the test ends. */
async function connectedClient (t: Test, enableAutoPipelining: boolean): Promise<Redis> {
  const redis = new Redis(TEST_REDIS_URL, { enableAutoPipelining })
  t.teardown(() => redis.disconnect())
  await redis.ping()
  return redis
}

t.test('a call that never answers is rejected at its deadline', async (t) => {
  const started = performance.now()
  await t.rejects(withDeadline(new Promise(() => {}), 30, 'silent call'), DeadlineExceededError)
  t.ok(performance.now() - started >= 29, 'not before the deadline')
})

t.test('a settled call passes its value or error through, and clears its timer', async (t) => {
  t.equal(await withDeadline(Promise.resolve('PONG'), 30, 'quick call'), 'PONG')
  await t.rejects(withDeadline(Promise.reject(new Error('WRONGTYPE')), 30, 'failing call'), { message: 'WRONGTYPE' })
})

t.test('a stall of our own is not blamed on Redis: an answer that arrived during it wins', async (t) => {
  // Autopipelining off: the command is written to the socket synchronously, before the stall.
  const redis = await connectedClient(t, false)

  const call = withDeadline(redis.ping(), 20, 'ping')
  // Redis answers within a millisecond, while this process is busy for five deadlines: when the
  // loop runs again, the expired timer and the unread answer are both waiting.
  stallFor(100)
  t.equal(await call, 'PONG', 'the answer sitting in the socket is used, not a timeout')
})

// The service's client pipelines automatically (plugins/external/redis.ts): queued commands are
// sent from a setImmediate, after whatever work queued them.
t.test('with autopipelining, a stall before the command is even sent does not count', async (t) => {
  const redis = await connectedClient(t, true)

  const call = withDeadline(redis.ping(), 20, 'ping')
  stallFor(100) // a long burst of request handling, in the same turn that queued the call
  t.equal(await call, 'PONG', 'the deadline runs from the send, not from the call')
})

t.test('with autopipelining, an answer that arrived during a stall after the send wins', async (t) => {
  const redis = await connectedClient(t, true)

  const call = withDeadline(redis.ping(), 20, 'ping')
  await new Promise((resolve) => setImmediate(resolve)) // the pipeline is sent, the deadline armed
  stallFor(100)
  t.equal(await call, 'PONG')
})
