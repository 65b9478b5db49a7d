import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { MongoClient, ObjectId } from 'mongodb'
import { build, createOrder } from '../helper.js'
import { freePort } from '../free-port.js'
import { ask } from '../redis-admin.js'
import { eventually, OwnedRedis, ownRedis, startProcess } from '../processes.js'
import { ORDERS_COLLECTION } from '../../src/orders/repository.js'

// A change is announced to Redis before the write is made (src/cache/changes.ts), and on a
// master with replicas online each announcing call is followed by WAIT for all of them: a
// failover must not promote a replica that never saw it. A replica that does not acknowledge in
// time, or a WAIT that Redis refuses, means the write must not go ahead (503 LOCK_UNAVAILABLE,
// nothing written). Here on a real master and replica of this test's own: the replica frozen with
// SIGSTOP, or the service's Redis user not allowed to run WAIT.

/** A redis-server replicating `masterPort`, in a directory of its own (it writes dump.rdb as it syncs). */
class OwnedReplica extends OwnedRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'flowops-replica-'))
  constructor (port: number, private readonly masterPort: number) { super(port) }

  protected override launch () {
    return startProcess(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--port', String(this.port), '--bind', '127.0.0.1',
      '--dir', this.dir, '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', String(this.masterPort)],
    /Ready to accept connections/)
  }
}

/** A master and an online replica of this test's own, stopped when it ends. */
async function masterWithReplica (t: Test) {
  const master = await ownRedis(t)
  const replica = new OwnedReplica(await freePort(), master.port)
  t.teardown(async () => {
    await replica.stop()
    rmSync(replica.dir, { recursive: true, force: true })
  })
  await replica.start()
  await eventually(async () => /state=online/.test(await ask(master.port, (redis) => redis.info('replication'))), 30_000)
  return { master, replica }
}

/** The service on `redisUrl`, an order it created, and a reader of that order as MongoDB holds it. */
async function serviceWithOrder (t: Test, redisUrl: string) {
  const app = await build(t, { env: { REDIS_URL: redisUrl } })
  const order = await createOrder(app)
  const client = await MongoClient.connect(app.config.MONGODB_URL)
  t.teardown(() => client.close())
  const stored = () => client.db().collection(ORDERS_COLLECTION).findOne({ _id: new ObjectId(order._id as string) })
  return { app, order, stored }
}

t.test('a change no replica acknowledged is not written; once the replica answers, it is', async (t) => {
  const { master, replica } = await masterWithReplica(t)
  const { app, order, stored } = await serviceWithOrder(t, master.url)

  // Frozen, the replica still counts as online on the master until repl-timeout (60 s, far
  // beyond this PUT's WAIT of REDIS_COMMAND_TIMEOUT_MS, 500 ms), so the WAIT asks for it.
  await replica.freeze()
  const refused = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Never Written' } })
  t.equal(refused.statusCode, 503, 'the write is refused')
  t.equal(refused.json().code, 'LOCK_UNAVAILABLE')
  t.match(await stored(), { customer: order.customer, version: 1 }, 'and nothing was written')

  replica.thaw()
  // Caught up first: a replica just woken on a busy machine (the whole suite beside it) may take
  // longer than the PUT's WAIT to apply its backlog, and this test is about an answering replica.
  await eventually(async () => {
    const info = await ask(master.port, (redis) => redis.info('replication'))
    const masterOffset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1])
    return new RegExp(`slave0:.*state=online,offset=${masterOffset},`).test(info)
  }, 30_000)
  const put = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Written Once Acknowledged' } })
  t.equal(put.statusCode, 200, 'with the replica acknowledging, the write goes ahead')
  t.match(await stored(), { customer: 'Written Once Acknowledged', version: 2 })
})

t.test('a change whose WAIT Redis refuses is not written, though the replica is online', async (t) => {
  const { master } = await masterWithReplica(t)
  // Everything but WAIT: the announcing scripts run and report the replica; the WAIT after
  // them fails at once with NOPERM.
  await ask(master.port, (redis) => redis.call('ACL', 'SETUSER', 'service', 'on', '>secret', '~*', '&*', '+@all', '-wait'))
  const { app, order, stored } = await serviceWithOrder(t, `redis://service:secret@127.0.0.1:${master.port}`)

  const refused = await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Never Written' } })
  t.equal(refused.statusCode, 503, 'the write is refused')
  t.equal(refused.json().code, 'LOCK_UNAVAILABLE')
  t.match(await stored(), { customer: order.customer, version: 1 }, 'and nothing was written')
})
