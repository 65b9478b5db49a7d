import { Session } from 'node:inspector/promises'
import { join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import type { InjectOptions } from 'fastify'

// The walks of docs/architecture.md, counted by V8 rather than by hand: which of the project's
// files (and how many of its functions) run for one request of each kind, on a warm app. V8's
// precise coverage counts calls per function and resets on every take, so a take right before
// a request and one right after it see that request alone. A file "runs" when one of its
// functions was called. The path-specific walk leaves out the files every request runs (those
// GET /health runs: the global hooks), which is how the issue counted its walks. Each request is
// walked three times, and a file counts when every run crossed it (a timer can fire during one).
//
//   node dist/bench/walks.js [dist root of the build to count, default: this build's dist]
//
// Needs MONGODB_URL and REDIS_URL (npm run bench's servers, or scripts/servers.sh start).

const distRoot = resolve(process.argv[2] ?? join(import.meta.dirname, '..'))
const { buildApp } = await import(pathToFileURL(join(distRoot, 'src/app.js')).href) as typeof import('../src/app.js')
const { loadConfig } = await import(pathToFileURL(join(distRoot, 'src/config.js')).href) as typeof import('../src/config.js')

const database = `walks_${randomBytes(4).toString('hex')}`
const mongoUrl = new URL(process.env.MONGODB_URL ?? '')
mongoUrl.pathname = `/${database}`
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', MONGODB_URL: mongoUrl.toString() })
const app = await buildApp({ config })
await app.ready()
while (app.redis.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 10))

const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false })

const projectFile = (url: string): string | undefined => {
  if (!url.startsWith('file://')) return undefined
  const path = relative(distRoot, new URL(url).pathname)
  if (path.startsWith('..') || path.startsWith('node_modules') || path.startsWith('bench')) return undefined
  return path.replace(/\.js$/, '.ts')
}

/** The project files and functions one request runs. */
async function walk (request: string | InjectOptions): Promise<{ files: Set<string>, functions: number, status: number, names: string[] }> {
  await session.post('Profiler.takePreciseCoverage') // resets the counters
  const response = await app.inject(request)
  await new Promise((resolve) => setTimeout(resolve, 20)) // what runs after the response (onResponse, a slot's release)
  const { result } = await session.post('Profiler.takePreciseCoverage')
  const files = new Set<string>()
  let functions = 0
  const names: string[] = []
  for (const script of result) {
    const file = projectFile(script.url)
    if (!file) continue
    const called = script.functions.filter((fn) => (fn.ranges[0]?.count ?? 0) > 0 && fn.ranges[0]?.startOffset !== 0) // not the module's own top level
    if (called.length === 0) continue
    files.add(file)
    functions += called.length
    for (const fn of called) names.push(`${file}: ${fn.functionName || '(anonymous)'} x${fn.ranges[0]?.count ?? 0}`)
  }
  return { files, functions, status: response.statusCode, names }
}

/** How many times each request is walked (see walkRuns). */
const RUNS = 3

const order = (await app.inject({ method: 'POST', url: '/orders', payload: { customer: 'Walker', address: '1 Walk Road', items: [{ sku: 'W', qty: 1, price: 1 }] } })).json<{ _id: string }>()
for (let i = 0; i < 3; i++) {
  await app.inject(`/orders/${order._id}`)
  await app.inject('/orders')
  await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: `Warm ${i}` } })
}
const fresh: Array<{ _id: string }> = []
for (let i = 0; i < RUNS; i++) fresh.push((await app.inject({ method: 'POST', url: '/orders', payload: { customer: `Fresh ${i}`, address: '2 Walk Road', items: [{ sku: 'F', qty: 1, price: 1 }] } })).json<{ _id: string }>())
await app.inject(`/orders/${order._id}`)
await app.inject('/orders')
await app.inject('/orders')

type Walk = Awaited<ReturnType<typeof walk>>

/**
 * A request's walk taken RUNS times: the files every run crossed (a timer of the service's own,
 * such as the Redis watch's, can fire during one walk and is no part of the request), the fewest
 * functions a run called in those files, and the functions the first run called in them.
 */
async function walkRuns (request: (run: number) => string | InjectOptions): Promise<Walk> {
  const runs: Walk[] = []
  for (let run = 0; run < RUNS; run++) runs.push(await walk(request(run)))
  const [first] = runs as [Walk]
  const files = new Set([...first.files].filter((file) => runs.every((other) => other.files.has(file))))
  const inFiles = (names: string[]) => names.filter((entry) => files.has(entry.split(':')[0] as string))
  return {
    files,
    functions: Math.min(...runs.map((other) => inFiles(other.names).length)),
    status: first.status,
    names: inFiles(first.names)
  }
}

const everyRequest = (await walkRuns(() => '/health')).files
const walks = {
  'GET /orders/:id, hit': await walkRuns(() => `/orders/${order._id}`),
  'GET /orders, hit': await walkRuns(() => '/orders'),
  'GET /orders/:id, miss': await walkRuns((run) => `/orders/${fresh[run]?._id}`),
  'PUT /orders/:id': await walkRuns((run) => ({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: `Walked ${run}` } }))
}
console.log(`build: ${distRoot}`)
console.log(`every request (GET /health): ${everyRequest.size} files: ${[...everyRequest].sort().join(', ')}`)
for (const [name, { files, functions, status, names }] of Object.entries(walks)) {
  const own = [...files].filter((file) => !everyRequest.has(file)).sort()
  console.log(`${name} (${status}): ${files.size} files, ${functions} functions; ${own.length} beyond every request's: ${own.join(', ')}`)
  // WALKS_DETAIL=1 lists the functions each walk called, file by file (what a merge would save).
  if (process.env.WALKS_DETAIL) for (const line of names.filter((entry) => !everyRequest.has(entry.split(':')[0] as string)).sort()) console.log(`  ${line}`)
}
await app.mongo.db?.dropDatabase()
await app.close()
