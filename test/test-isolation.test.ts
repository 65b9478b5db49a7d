import t from 'tap'
import { Redis } from 'ioredis'
import { leaseRedisDatabase } from './helper.js'
import { ownRedis } from './processes.js'

// test/helper.ts hands every test app a logical database of its own. tap runs test files in
// parallel processes, and docker-compose's Redis has 16 databases, so handing them out in turn
// is not enough: a database must never go to two live tests at once, and whatever its last
// holder left in it must be gone before the next one uses it. Checked on a redis-server of this
// test's own with 4 databases (3 to lease: database 0 holds the leases), so reuse is certain.

const databaseOf = (url: string) => Number(new URL(url).pathname.slice(1))

t.test('concurrent leases get distinct databases; none is handed out while leased', async (t) => {
  const owned = await ownRedis(t, ['--databases', '4'])
  // Every lease taken at once, each on its own connection, as parallel test files would.
  const leases = await Promise.all(Array.from({ length: 3 }, () => leaseRedisDatabase(owned.url)))
  t.same(leases.map((lease) => databaseOf(lease.url)).sort(), [1, 2, 3], 'three distinct databases, never database 0')
  await t.rejects(leaseRedisDatabase(owned.url), /all 3 logical databases .* are leased/, 'a fourth is refused while all three are held')
  await Promise.all(leases.map((lease) => lease.release()))
})

t.test('a released database is flushed before its next holder gets it', async (t) => {
  const owned = await ownRedis(t, ['--databases', '4'])
  const leases = await Promise.all(Array.from({ length: 3 }, () => leaseRedisDatabase(owned.url)))
  const [reused, ...others] = leases as [typeof leases[0], ...typeof leases]
  const previous = new Redis(reused.url)
  t.teardown(() => { previous.disconnect() })
  await previous.set('left-behind', 'by the previous holder')
  await reused.release()

  // The only free database is the one just released: the next lease must get it, empty.
  const next = await leaseRedisDatabase(owned.url)
  t.equal(next.url, reused.url, 'the released database is handed out again')
  t.equal(await previous.dbsize(), 0, 'and it was flushed for its new holder')
  await Promise.all([next, ...others].map((lease) => lease.release()))
})

t.test('a release gives back only its own lease', async (t) => {
  const owned = await ownRedis(t, ['--databases', '2'])
  const first = await leaseRedisDatabase(owned.url)
  await first.release()
  const second = await leaseRedisDatabase(owned.url)
  t.equal(second.url, first.url, 'the one database, leased again')
  await first.release() // late, repeated: must not free the second holder's lease
  await t.rejects(leaseRedisDatabase(owned.url), /are leased/, 'still held by its second holder')
  await second.release()
})
