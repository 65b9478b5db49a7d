import t, { type Test } from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import Fastify from 'fastify'
import { createEntryReader } from '../../src/cache/entry-reader.js'
import { loadConfig } from '../../src/config.js'
import { createServiceMetrics, promClient } from '../../src/metrics/service-metrics.js'
import { reconnectWhenEnded } from '../../src/redis/reconnect-when-ended.js'
import { ReusedReadBufferConnector } from '../../src/redis/reused-read-buffer.js'
import { isolatedRedisUrl } from '../helper.js'

// src/redis/reconnect-when-ended.ts: ioredis can end a client for good by itself (under
// Sentinel, when its failover detector fires while the client is reconnecting; the Sentinel
// failover test saw it on the service's client and on the entry connection). Here a real
// client ends by itself the one way a test can make it do so at will: its retryStrategy says
// "no more", and a real server kills its connection (CLIENT KILL). What must hold: an end its
// owner did not ask for is followed by a connect; a disconnect() or quit() is not.

const DELAY_MS = 50

/** A client on a Redis database of its own that ends the first time its connection is lost. */
async function endingClient (t: Test, options: object = {}): Promise<{ client: Redis, admin: Redis }> {
  const url = await isolatedRedisUrl(t)
  const client = new Redis(url, { retryStrategy: () => null, ...options })
  const admin = new Redis(url)
  client.on('error', () => {})
  t.teardown(() => {
    client.disconnect()
    admin.disconnect()
  })
  await Promise.all([client.ping(), admin.ping()])
  return { client, admin }
}

/** Kills `client`'s connection from the server's side, and waits until ioredis has ended it. */
async function killAndAwaitEnd (client: Redis, admin: Redis): Promise<void> {
  const ended = once(client, 'end')
  await admin.client('KILL', 'ID', String(await client.client('ID')))
  await ended
}

t.test('a client that ended by itself connects again, and answers', async (t) => {
  const { client, admin } = await endingClient(t)
  let told = 0
  reconnectWhenEnded(client, { onEnded: () => { told++ }, delayMs: DELAY_MS })
  await killAndAwaitEnd(client, admin)
  await once(client, 'ready')
  t.equal(await client.ping(), 'PONG', 'it answers again')
  t.equal(told, 1, 'the owner was told once')
  // And again: the guard holds for every end, not only the first.
  await killAndAwaitEnd(client, admin)
  await once(client, 'ready')
  t.equal(told, 2, 'the second end was followed by a connect too')
})

for (const close of ['disconnect', 'quit'] as const) {
  t.test(`a client its owner closed (${close}) stays closed`, async (t) => {
    const { client } = await endingClient(t)
    reconnectWhenEnded(client, { delayMs: DELAY_MS })
    let connecting = 0
    client.on('connecting', () => { connecting++ })
    const ended = once(client, 'end')
    if (close === 'quit') await client.quit()
    else client.disconnect()
    await ended
    // What must not happen has no event to await: give it several times the delay.
    await sleep(DELAY_MS * 6)
    t.equal(client.status, 'end', 'still ended')
    t.equal(connecting, 0, 'no connect was made')
  })
}

t.test('the entry reader\'s connection, ended by itself, is connected again and read on', async (t) => {
  const name = 'reconnect-test-entries'
  const { client: connection, admin } = await endingClient(t, { Connector: ReusedReadBufferConnector, enableAutoPipelining: false, connectionName: name })
  const config = loadConfig({ MONGODB_URL: 'mongodb://127.0.0.1:1/unused', REDIS_URL: 'redis://127.0.0.1:1' })
  const reader = createEntryReader({ config, fallback: admin, metrics: createServiceMetrics(new promClient.Registry()), log: Fastify({ logger: false }).log, connection })
  t.teardown(() => reader.close())
  await admin.set('entry', 'bytes')
  await killAndAwaitEnd(connection, admin)
  // Until it is back, reads go on the fallback, as with any connection that is down.
  t.same((await reader.read(['entry'])).found.map((value) => value?.toString()), ['bytes'], 'read on the fallback meanwhile')
  // Bounded: without the guard the connection stays ended, and ready() would wait for ever.
  const back = await Promise.race([reader.ready().then(() => true), sleep(5000, false, { ref: false })])
  t.ok(back, 'the entry connection is ready again within 5 s')
  t.same((await reader.read(['entry'])).found.map((value) => value?.toString()), ['bytes'], 'read again once it is back')
  const entryConnections = (await admin.client('LIST') as string).split('\n').filter((line) => line.includes(` name=${name} `))
  t.match(entryConnections, [/ cmd=mget /], 'that read went on the entry connection')
})
