import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Redis, type RedisOptions } from 'ioredis'
import Fastify from 'fastify'
import { createEntryReader, LARGEST_SLOT_BYTES } from '../../src/cache/entry-reader.js'
import { loadConfig } from '../../src/config.js'
import { createServiceMetrics, promClient } from '../../src/metrics/service-metrics.js'
import { replyEnd, ReusedReadBufferConnector } from '../../src/redis/reused-read-buffer.js'
import { isolatedRedisUrl } from '../helper.js'

// src/redis/reused-read-buffer.ts and src/cache/entry-reader.ts: the cache's entry connection
// reads into reused buffers, and hits are copied into reused slots. What must hold: every reply
// arrives byte for byte, however the bytes are split across reads, and a slot is only reused
// after it was given back.

/**
 * A connection through the reused-buffer connector, on a Redis database of its own: leased
 * for this test and flushed when the lease was taken (test/helper.ts), so it starts empty
 * without this test flushing anything another test may be using.
 */
async function entryConnection (t: Test, readBufferBytes?: number): Promise<{ connection: Redis, admin: Redis }> {
  const url = await isolatedRedisUrl(t)
  const options = { Connector: ReusedReadBufferConnector, enableAutoPipelining: false, ...(readBufferBytes ? { readBufferBytes } : {}) }
  const connection = new Redis(url, options as RedisOptions)
  const admin = new Redis(url)
  t.teardown(() => {
    connection.disconnect()
    admin.disconnect()
  })
  await Promise.all([connection.ping(), admin.ping()])
  return { connection, admin }
}

/** The entry reader on `connection`, with the test Redis's admin client as its fallback. */
function entryReaderOn (connection: Redis, admin: Redis) {
  const config = loadConfig({ MONGODB_URL: 'mongodb://127.0.0.1:1/unused', REDIS_URL: 'redis://127.0.0.1:1' })
  const metrics = createServiceMetrics(new promClient.Registry())
  return createEntryReader({ config, fallback: admin, metrics, log: Fastify().log, connection })
}

t.test('replyEnd: the end of a complete RESP reply, -1 for every incomplete prefix', async (t) => {
  const replies = [
    '+OK\r\n',
    '-ERR unknown command\r\n',
    ':42\r\n',
    '$-1\r\n',
    '$0\r\n\r\n',
    '$5\r\nhe\r\no\r\n',
    '*-1\r\n',
    '*0\r\n',
    '*3\r\n$1\r\n7\r\n$-1\r\n*2\r\n:1\r\n$3\r\nabc\r\n'
  ]
  for (const reply of replies) {
    const bytes = Buffer.from(reply, 'latin1')
    // Trailing bytes of a next reply, which must not be taken for this one's.
    const stream = Buffer.concat([bytes, Buffer.from('+NEXT\r\n')])
    t.equal(replyEnd(stream, 0, stream.length), bytes.length, `${JSON.stringify(reply)} ends where it ends`)
    for (let cut = 0; cut < bytes.length; cut++) {
      if (replyEnd(stream, 0, cut) !== -1) t.fail(`${JSON.stringify(reply)} cut at ${cut} taken as complete`)
    }
  }
  const two = Buffer.from(':1\r\n$2\r\nab\r\n')
  t.equal(replyEnd(two, replyEnd(two, 0, two.length), two.length), two.length, 'a reply found after another, from its offset')
})

t.test('values of every size arrive intact through buffers far smaller than them', async (t) => {
  // 64-byte buffers: nearly every reply is split across reads, the tail moves between the two
  // buffers, and they grow for the large values and shrink back afterwards.
  const { connection, admin } = await entryConnection(t, 64)
  // Many small values, so that reads often end with one reply complete and the next begun.
  const sizes = [0, 1, 5, 9, 13, 20, 31, 40, 63, 64, 65, 100, 1000, 4096, 40_000, LARGEST_SLOT_BYTES + 1, 300_000]
  const values = new Map(sizes.map((size) => [`value:${size}`, randomBytes(size)]))
  for (const [key, value] of values) await admin.set(key, value)

  // Many commands in flight at once, each reply copied in its first reaction (as the entry
  // reader does), with a mix of sizes in one reply.
  const keys = [...values.keys()]
  const reads = Array.from({ length: 1000 }, (_, i) => {
    const picked = [keys[i % keys.length] as string, keys[(i * 7) % keys.length] as string, 'missing']
    return connection.mgetBuffer(picked).then((found) => ({ picked, found: found.map((value) => value && Buffer.from(value)) }))
  })
  let intact = 0
  for (const { picked, found } of await Promise.all(reads)) {
    if (found[2] === null && picked.slice(0, 2).every((key, i) => found[i]?.equals(values.get(key) as Buffer))) intact++
  }
  t.equal(intact, reads.length, 'every reply byte for byte')
  t.equal(await connection.get('value:13'), values.get('value:13')?.toString(), 'a string reply as well')
})

t.test('the entry reader copies into a slot that is reused only once given back', async (t) => {
  const { connection, admin } = await entryConnection(t)
  const reader = entryReaderOn(connection, admin)
  await reader.ready()
  const entry = randomBytes(20_000)
  const small = randomBytes(100)
  await admin.mset('generation', '7', 'entry', entry, 'small', small)

  const first = await reader.read(['generation', 'entry'])
  t.equal(first.found[0]?.toString(), '7')
  t.ok(first.found[1]?.equals(entry), 'the entry, byte for byte')
  t.type(first.slot?.release, 'function', 'an entry in a slot comes with its release')

  const held = await reader.read(['generation', 'entry'])
  t.not(held.found[1]?.buffer, first.found[1]?.buffer, 'a slot not given back is not handed out again')
  t.ok(first.found[1]?.equals(entry), 'and the first copy is untouched by the second read')

  first.slot?.release()
  first.slot?.release()
  const reused = await reader.read(['generation', 'entry'])
  t.equal(reused.found[1]?.buffer, first.found[1]?.buffer, 'once given back, the slot is reused')
  t.ok(reused.found[1]?.equals(entry))
  const other = await reader.read(['generation', 'entry'])
  t.not(other.found[1]?.buffer, reused.found[1]?.buffer, 'given back twice, handed out once')

  const smallRead = await reader.read(['generation', 'small'])
  t.ok(smallRead.found[1]?.equals(small), 'a small entry, byte for byte')
  t.equal(smallRead.slot, undefined, 'a small entry is copied without a slot')

  // Its own connection gone: entries are read on the fallback (the service's client).
  const ended = once(connection, 'end')
  connection.disconnect()
  await ended
  const fallen = await reader.read(['generation', 'entry'])
  t.ok(fallen.found[1]?.equals(entry), 'read on the fallback while the entry connection is down')
  t.equal(fallen.slot, undefined, 'in a buffer of its own, not a slot')
})

t.test('concurrent reads through the entry reader each get their own bytes', async (t) => {
  // Small read buffers again, and reads of one turn leaving in one write: replies of a batch
  // share reads, and each must be copied out before the buffer it is in is written again.
  const { connection, admin } = await entryConnection(t, 64)
  const reader = entryReaderOn(connection, admin)
  await reader.ready()
  const entries = Array.from({ length: 12 }, (_, i) => randomBytes(i % 3 === 0 ? 50 * (i + 1) : 5000 * i))
  await admin.mset('generation', '1', ...entries.flatMap((entry, i) => [`entry:${i}`, entry]))

  const reads = await Promise.all(Array.from({ length: 600 }, async (_, i) => {
    const read = await reader.read(['generation', `entry:${i % entries.length}`])
    return { i, read }
  }))
  const intact = reads.filter(({ i, read }) => read.found[1]?.equals(entries[i % entries.length] as Buffer)).length
  for (const { read } of reads) read.slot?.release()
  t.equal(intact, reads.length, 'every entry byte for byte, slots held by every read at once')
})
