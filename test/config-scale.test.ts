import t from 'tap'
import { hostPorts, loadConfig, workerCount } from '../src/config.js'

// The scale-out settings (README "Scaling out"): workers, the Redis topology, and the MongoDB
// write concern and read preference. Defaults change nothing for an existing deployment.

t.test('defaults: one worker, standalone Redis, majority writes, primary reads', async (t) => {
  const config = loadConfig({})
  t.equal(config.WORKERS, 1)
  t.equal(workerCount(config, 8), 1)
  t.equal(config.REDIS_CLUSTER_NODES, '')
  t.equal(config.REDIS_SENTINELS, '')
  t.equal(config.REDIS_SENTINEL_MASTER, '')
  t.equal(config.MONGODB_WRITE_CONCERN, 'majority')
  t.equal(config.MONGODB_READ_PREFERENCE, 'primary')
})

t.test('WORKERS=0 is one worker per core', async (t) => {
  t.equal(workerCount(loadConfig({ WORKERS: '0' }), 6), 6)
  t.equal(workerCount(loadConfig({ WORKERS: '3' }), 6), 3)
})

t.test('host:port lists: comma-separated, spaces allowed, parsed to host and port', async (t) => {
  const config = loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001,redis-3:65535' })
  t.same(hostPorts(config.REDIS_CLUSTER_NODES), [
    { host: 'redis-1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
    { host: 'redis-3', port: 65535 }
  ])
  const sentinel = loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_MASTER: 'orders-cache' })
  t.same(hostPorts(sentinel.REDIS_SENTINELS), [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }])
  t.equal(sentinel.REDIS_SENTINEL_MASTER, 'orders-cache')
})

t.test('write concern: majority or a member count; read preference: the driver\'s modes', async (t) => {
  t.equal(loadConfig({ MONGODB_WRITE_CONCERN: '2' }).MONGODB_WRITE_CONCERN, '2')
  t.equal(loadConfig({ MONGODB_READ_PREFERENCE: 'secondaryPreferred' }).MONGODB_READ_PREFERENCE, 'secondaryPreferred')
})

t.test('invalid values stop start-up and name the variable', async (t) => {
  const invalid: Array<[string, string]> = [
    ['WORKERS', '-1'],
    ['WORKERS', 'many'],
    ['REDIS_CLUSTER_NODES', 'redis-1'],
    ['REDIS_CLUSTER_NODES', 'redis-1:70000'],
    ['REDIS_CLUSTER_NODES', 'redis-1:0'],
    ['REDIS_CLUSTER_NODES', 'redis-1:7000,,redis-2:7001'],
    ['REDIS_CLUSTER_NODES', 'redis://redis-1:7000'],
    ['MONGODB_WRITE_CONCERN', '0'],
    ['MONGODB_WRITE_CONCERN', 'all'],
    ['MONGODB_READ_PREFERENCE', 'secondaries']
  ]
  for (const [name, value] of invalid) {
    t.throws(() => loadConfig({ [name]: value }), { name: 'ConfigError', message: new RegExp(`${name}=`) }, `${name}=${value}`)
  }
})

t.test('sentinel needs both variables, and excludes a cluster', async (t) => {
  t.throws(() => loadConfig({ REDIS_SENTINELS: 's1:26379' }),
    { name: 'ConfigError', message: /REDIS_SENTINELS=.*REDIS_SENTINEL_MASTER=.*set both or neither/ })
  t.throws(() => loadConfig({ REDIS_SENTINEL_MASTER: 'm' }),
    { name: 'ConfigError', message: /REDIS_SENTINEL_MASTER="m": set both or neither/ })
  t.throws(() => loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_CLUSTER_NODES: 'r1:7000' }),
    { name: 'ConfigError', message: /REDIS_CLUSTER_NODES and REDIS_SENTINELS: set one of them/ })
})
