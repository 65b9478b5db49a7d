import t from 'tap'
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

t.test('a heartbeat that never ends restarts the client; queries work again', async (t) => {
  const { relay, url } = await throughRelay(t, isolatedMongoUrl())
  const client = new MongoClient(url, { connectTimeoutMS: 0, heartbeatFrequencyMS: 500, serverSelectionTimeoutMS: 5000 })
  await client.connect()
  t.teardown(() => client.close())
  const orders = client.db().collection('watchdog')
  await orders.insertOne({ n: 1 })
  const watchdog = watchMonitor(client, { stuckAfterMs: 1000, checkEveryMs: 100, log: pino({ level: 'silent' }) })
  t.teardown(() => watchdog.stop())

  // The monitor's next heartbeat: a `hello` on its own connection (no operation is in flight, so
  // no new pool connection's handshake can be the one held).
  await relay.holdNext('hello')
  const heldAt = performance.now()
  // Bounded: the watchdog's bound (1 s) and its check interval, with 10 s of margin.
  while (watchdog.restarts() === 0 && performance.now() - heldAt < 11_000) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(watchdog.restarts(), 1, 'the client was restarted once')
  t.equal(await orders.countDocuments(), 1, 'a handle made before the restart reads again')
})

t.test('stuck means started, not ended, and past the bound', async (t) => {
  t.equal(heartbeatStuck(undefined, 10_000, 1000), false, 'no heartbeat under way')
  t.equal(heartbeatStuck(9500, 10_000, 1000), false, 'under way within the bound')
  t.equal(heartbeatStuck(8000, 10_000, 1000), true, 'under way past the bound')
})
