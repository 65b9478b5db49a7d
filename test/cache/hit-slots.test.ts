import t from 'tap'
import { connect } from 'node:net'
import { build, createOrder, redisFor, validOrder } from '../helper.js'
import { ownRedis } from '../processes.js'

// plugins/app/cache.ts and src/cache/entry-reader.ts over real HTTP: a hit's bytes sit in a slot
// that is reused once its response has gone ('close'). Many hits of different pages at once, on
// kept-alive connections: every body must be exactly its page's, whichever slot it went through.

t.test('concurrent hits of different pages each send exactly their page', async (t) => {
  const app = await build(t)
  // Long customer names: every page below is well over the size that goes through a slot.
  for (let i = 0; i < 40; i++) await createOrder(app, { ...validOrder, customer: `Customer ${i} ${'x'.repeat(180)}`, address: 'y'.repeat(190) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  const base = `http://127.0.0.1:${address.port}`

  const paths = Array.from({ length: 10 }, (_, i) => `/orders?page=1&limit=${31 + i}`)
  const expected = new Map<string, string>()
  for (const path of paths) {
    const miss = await fetch(base + path, { headers: { 'accept-encoding': 'identity' } })
    t.equal(miss.headers.get('x-cache'), 'MISS', `${path} filled`)
    expected.set(path, await miss.text())
  }
  t.ok([...expected.values()].every((body) => Buffer.byteLength(body) > 8 * 1024), 'every page goes through a slot')

  // Pipelined behind a slow request (a miss, read from the database), hits wait in memory, not
  // written yet, while the clients below take and give back slots: they must keep theirs.
  const pipelined = [...paths, ...paths]
  const held = pipelinedResponses(address.port, ['/orders?page=2&limit=7', ...pipelined])

  let hits = 0
  let exact = 0
  // 20 clients at a time, 30 requests each, on kept-alive connections.
  await Promise.all(Array.from({ length: 20 }, async (_, client) => {
    for (let n = 0; n < 30; n++) {
      const path = paths[(client + n) % paths.length] as string
      const response = await fetch(base + path, { headers: { 'accept-encoding': 'identity' } })
      const body = await response.text()
      if (response.headers.get('x-cache') === 'HIT') hits++
      if (body === expected.get(path)) exact++
    }
  }))
  t.equal(hits, 600, 'every request a hit')
  t.equal(exact, 600, 'every body exactly its page')
  const answers = (await held).slice(1)
  t.equal(answers.length, pipelined.length, 'every pipelined request answered')
  t.equal(answers.filter((body, i) => body === expected.get(pipelined[i] as string)).length, pipelined.length, 'every pipelined hit exactly its page')
})

/** Sends the GETs pipelined on one connection (the last closes it); resolves with the bodies in order. */
function pipelinedResponses (port: number, paths: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const all = Buffer.concat(chunks)
      const bodies: string[] = []
      for (let at = 0; at < all.length;) {
        const headEnd = all.indexOf('\r\n\r\n', at)
        const length = Number(/content-length: *(\d+)/i.exec(all.toString('latin1', at, headEnd))?.[1] ?? 0)
        bodies.push(all.toString('utf8', headEnd + 4, headEnd + 4 + length))
        at = headEnd + 4 + length
      }
      resolve(bodies)
    })
    socket.write(paths.map((path, i) => `GET ${path} HTTP/1.1\r\nHost: test\r\nAccept-Encoding: identity\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join(''))
  })
}

t.test('the entry connection killed: hits go on through the service client, then back on it', async (t) => {
  // A Redis of its own: CLIENT LIST is server-wide, and on the shared server the regex could
  // find (and kill) another app's entry connection, and never exercise this one's fallback.
  const app = await build(t, { env: { REDIS_URL: (await ownRedis(t)).url } })
  const admin = redisFor(t, app)
  await createOrder(app)
  const first = await app.inject('/orders')
  t.equal(first.headers['x-cache'], 'MISS')

  const clients = await admin.client('LIST') as string
  const entryConnection = /^id=(\d+) .*name=flowops-order-service-entries /m.exec(clients)?.[1]
  t.ok(entryConnection, 'the service has its entry connection open')
  await admin.client('KILL', 'ID', entryConnection as string)
  const during = await app.inject('/orders')
  t.equal(during.headers['x-cache'], 'HIT', 'a hit while it is down')
  t.equal(during.body, first.body, 'the same bytes')

  await app.cache.connected()
  const clientsAfter = await admin.client('LIST') as string
  t.match(clientsAfter, /name=flowops-order-service-entries /, 'it reconnected by itself')
  const after = await app.inject('/orders')
  t.equal(after.headers['x-cache'], 'HIT')
  t.equal(after.body, first.body)
})
