import fp from 'fastify-plugin'
import fastifyMongodb from '@fastify/mongodb'
import { watchMonitor } from '../../src/mongodb/monitor-watchdog.js'

/**
 * MongoDB, the system of record, through the official plugin. Every driver timeout is set
 * explicitly from MONGODB_TIMEOUT_MS so that a dead or frozen database turns into a 503
 * within a bounded time instead of a hanging request. Start-up needs MongoDB: without it the
 * service cannot create its indexes, so it fails after the timeout (and an orchestrator
 * restarts it) rather than serving writes it cannot honour.
 *
 * Replica sets and sharded clusters: the connection string is used unchanged (list the
 * members, or mongodb+srv://, and replicaSet=...). Every write waits for MONGODB_WRITE_CONCERN
 * (default majority: an acknowledged order survives the loss of the primary); reads go to
 * MONGODB_READ_PREFERENCE (default primary: a secondary may lag behind a write, and a miss read
 * from it would fill the cache with the older data). Both options win over the same settings
 * in the connection string.
 */
export default fp(async function mongodb (app) {
  const timeout = app.config.MONGODB_TIMEOUT_MS
  await app.register(fastifyMongodb, {
    url: app.config.MONGODB_URL,
    forceClose: true,
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    socketTimeoutMS: timeout,
    waitQueueTimeoutMS: timeout,
    maxPoolSize: 50,
    writeConcern: { w: writeConcern(app.config.MONGODB_WRITE_CONCERN) },
    readPreference: app.config.MONGODB_READ_PREFERENCE,
    appName: 'flowops-order-service'
  })
  // A heartbeat that never ends leaves the driver unable to find the server again
  // (src/mongodb/monitor-watchdog.ts): past twice the driver's own bound and a second, the
  // client is restarted.
  const watchdog = watchMonitor(app.mongo.client, { stuckAfterMs: 2 * timeout + 1000, log: app.log.child({ component: 'mongodb' }) })
  app.addHook('preClose', async () => watchdog.stop())
}, { name: 'mongodb-connection' })

/** MONGODB_WRITE_CONCERN as the driver's w: 'majority' or a number of members. */
function writeConcern (value: string): 'majority' | number {
  return value === 'majority' ? value : Number(value)
}
