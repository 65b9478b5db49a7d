import { Redis } from 'ioredis'
import { redisKeys } from '../src/cache/keys.js'
import { medianOf as median } from './median.js'
import { COPY_SUFFIXES } from '../src/cache/compressed-copies.js'

// The miss path and writes at two data-set sizes, in the same rounds: does a list miss, a
// lookup miss or a PUT cost the same at 200,000 orders as at 10,000? Each request is sent alone
// and timed from this process (HTTP round trip on loopback), so these are the service's own
// costs over an indexed store, not a MongoDB latency and not a throughput.
//
// A miss is made real by deleting that one cache entry just before the request (not timed):
// the request then looks it up, loads from the database, and fills the entry.

export interface SizedTarget {
  label: string
  url: string
  redisUrl: string
  /** Pending orders to read and update; the PUTs change only their address. */
  orderIds: string[]
}

export interface SizeScalingRow {
  operation: string
  /** Median of every sample, per size label. */
  medianMs: Record<string, number>
  /** Median over rounds of (second size / first size), each round's medians seconds apart. */
  ratio: number
  samplesPerSize: number
}

interface Operation {
  name: string
  /** Makes the request a miss (deletes its entry); returns the request. */
  prepare: (redis: Redis, id: string) => Promise<{ method: 'GET' | 'PUT', path: string, body?: string, expectCache?: string }>
}

const OPERATIONS: Operation[] = [
  {
    name: 'list miss, page 1 (limit 10)',
    prepare: async (redis) => {
      await redis.del(...withCopies(redisKeys.listPage(1, 10)))
      return { method: 'GET', path: '/orders?page=1&limit=10', expectCache: 'MISS' }
    }
  },
  {
    name: 'list miss, page 50 (limit 10)',
    prepare: async (redis) => {
      await redis.del(...withCopies(redisKeys.listPage(50, 10)))
      return { method: 'GET', path: '/orders?page=50&limit=10', expectCache: 'MISS' }
    }
  },
  {
    name: 'GET /orders/:id miss',
    prepare: async (redis, id) => {
      await redis.del(...withCopies(redisKeys.entity(id)))
      return { method: 'GET', path: `/orders/${id}`, expectCache: 'MISS' }
    }
  },
  {
    name: 'PUT /orders/:id',
    prepare: async (_redis, id) => ({
      method: 'PUT',
      path: `/orders/${id}`,
      body: JSON.stringify({ address: `${Math.floor(Math.random() * 1e6)} Scaling Road` })
    })
  }
]

/** An entry and its compressed copies (src/cache/compressed-copies.ts). */
const withCopies = (key: string) => [key, ...COPY_SUFFIXES.map((suffix) => key + suffix)]

async function timedRequest (url: string, request: Awaited<ReturnType<Operation['prepare']>>): Promise<number> {
  const started = performance.now()
  // Identity, as autocannon asks: fetch() would ask for gzip, and the timing would include it.
  const response = await fetch(url + request.path, {
    method: request.method,
    headers: { 'accept-encoding': 'identity', ...(request.body ? { 'content-type': 'application/json' } : {}) },
    ...(request.body ? { body: request.body } : {})
  })
  await response.arrayBuffer()
  const ms = performance.now() - started
  const cache = response.headers.get('x-cache')
  if (response.status !== 200 || (request.expectCache && cache !== request.expectCache)) {
    throw new Error(`${request.method} ${request.path}: ${response.status}, X-Cache ${cache ?? '-'}`)
  }
  return ms
}

/** Runs every operation `samples` times per size per round, alternating which size goes first. */
export async function measureSizeScaling (targets: [SizedTarget, SizedTarget], rounds: number, samples: number): Promise<SizeScalingRow[]> {
  const clients = targets.map((t) => new Redis(t.redisUrl, { maxRetriesPerRequest: 1 }))
  // per operation, per target, per round: the sample times
  const times = OPERATIONS.map(() => targets.map(() => Array.from({ length: rounds }, () => [] as number[])))
  let next = 0 // each request takes the next order id, so no two samples share an entry
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      for (const [o, operation] of OPERATIONS.entries()) {
        for (const i of order) {
          const target = targets[i] as SizedTarget
          for (let s = 0; s < samples; s++) {
            const id = target.orderIds[next++ % target.orderIds.length] as string
            const request = await operation.prepare(clients[i] as Redis, id)
            times[o]?.[i]?.[round]?.push(await timedRequest(target.url, request))
          }
        }
      }
    }
  } finally {
    for (const client of clients) client.disconnect()
  }
  return OPERATIONS.map((operation, o) => {
    const [small, large] = times[o] as [number[][], number[][]]
    return {
      operation: operation.name,
      medianMs: Object.fromEntries(targets.map((t, i) => [t.label, median((i === 0 ? small : large).flat())])),
      ratio: median(small.map((smallRound, r) => median(large[r] ?? []) / Math.max(median(smallRound), 1e-9))),
      samplesPerSize: rounds * samples
    }
  })
}
