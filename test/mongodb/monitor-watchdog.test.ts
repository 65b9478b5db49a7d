import t, { type Test } from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { MongoClient } from 'mongodb'
import pino from 'pino'
import { isolatedMongoUrl } from '../helper.js'
import { throughRelay } from '../relay.js'
import { heartbeatStuck, watchMonitor } from '../../src/mongodb/monitor-watchdog.js'

// The watchdog of src/mongodb/monitor-watchdog.ts on a real driver and a real server. A stuck
// heartbeat for real: the client's connectTimeoutMS is 0 (no socket timeout on the monitor's
// hello), and a relay holds the next hello the monitor sends, so that heartbeat neither succeeds
// nor fails, as the reliability suite saw one do. The watchdog restarts the client, whose new
// monitor reaches the server, and the collection handle made before goes on working.

/**
 * A real client through a relay, with one order stored, watched by a watchdog with a 1 s bound:
 * connectTimeoutMS 0, so a held hello is a heartbeat that never ends.
 */
async function watchedThroughRelay (t: Test, collection: string, serverSelectionTimeoutMS: number, log: FastifyBaseLogger) {
  const { relay, url } = await throughRelay(t, isolatedMongoUrl())
  const client = new MongoClient(url, { connectTimeoutMS: 0, heartbeatFrequencyMS: 500, serverSelectionTimeoutMS })
  await client.connect()
  t.teardown(() => client.close())
  const orders = client.db().collection(collection)
  await orders.insertOne({ n: 1 })
  const watchdog = watchMonitor(client, { stuckAfterMs: 1000, checkEveryMs: 100, log })
  t.teardown(() => watchdog.stop())
  return { relay, orders, watchdog }
}

t.test('a heartbeat that never ends restarts the client; queries work again', async (t) => {
  const { relay, orders, watchdog } = await watchedThroughRelay(t, 'watchdog', 5000, pino({ level: 'silent' }))

  // The monitor's next heartbeat: a `hello` on its own connection (no operation is in flight, so
  // no new pool connection's handshake can be the one held).
  await relay.holdNext('hello')
  const heldAt = performance.now()
  // Bounded: the watchdog's bound (1 s) and its check interval, with 10 s of margin.
  while (watchdog.restarts() === 0 && performance.now() - heldAt < 11_000) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(watchdog.restarts(), 1, 'the client was restarted once')
  t.equal(await orders.countDocuments(), 1, 'a handle made before the restart reads again')
})

t.test('a restart while the database is still gone connects again until it is back; queries work again', async (t) => {
  // The watchdog's own log says when a restart's connect has failed.
  const failedConnects: string[] = []
  let onFailedConnect: () => void = () => {}
  const log = pino({ level: 'error' }, { write: (line: string) => { if (line.includes('restart failed')) { failedConnects.push(line); onFailedConnect() } } })
  const { relay, orders, watchdog } = await watchedThroughRelay(t, 'watchdog_gone', 500, log)

  // A stuck heartbeat, and the server gone for every new connection: the restart's connect fails.
  await relay.holdNext('hello')
  relay.refuseNew(true)
  await new Promise<void>((resolve) => { onFailedConnect = resolve })
  t.equal(watchdog.restarts(), 1, 'the client was restarted')
  t.ok(failedConnects.length >= 1, 'its connect failed while the server was gone')
  await t.rejects(orders.countDocuments(), 'no query is served while it is gone')

  // The server is back: the watchdog's next connect reaches it, and the handle works again.
  relay.refuseNew(false)
  const backAt = performance.now()
  let count: number | undefined
  // Bounded: the longest wait between two connects (2 s) and one connect, with margin.
  while (count === undefined && performance.now() - backAt < 10_000) {
    count = await orders.countDocuments().catch(() => undefined)
    if (count === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(count, 1, 'a handle made before the restart reads again once the server is back')
  t.equal(watchdog.restarts(), 1, 'by connecting again, not by another restart')
})

t.test('stuck means started, not ended, and past the bound', async (t) => {
  t.equal(heartbeatStuck(undefined, 10_000, 1000), false, 'no heartbeat under way')
  t.equal(heartbeatStuck(9500, 10_000, 1000), false, 'under way within the bound')
  t.equal(heartbeatStuck(8000, 10_000, 1000), true, 'under way past the bound')
})
