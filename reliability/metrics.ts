// The process figures the soak watches, read from the service's Prometheus /metrics
// (prom-client's default process metrics, which the service names with its own prefix).

import { get, type IncomingMessage } from 'node:http'
import type { SocketCounts } from './sockets.js'

export interface ProcessSample {
  at: number
  rssBytes: number
  heapUsedBytes: number
  /** The V8 heap's committed size, and memory held outside it (Buffers, native): what RSS is made of besides code. */
  heapTotalBytes?: number
  externalBytes?: number
  activeHandles: number
  /** Its TCP connections by peer, when known (Linux). */
  sockets?: SocketCounts
}

const NAMES = {
  rssBytes: 'process_resident_memory_bytes',
  heapUsedBytes: 'nodejs_heap_size_used_bytes',
  heapTotalBytes: 'nodejs_heap_size_total_bytes',
  externalBytes: 'nodejs_external_memory_bytes',
  activeHandles: 'nodejs_active_handles_total'
} as const

function valueOf (text: string, name: string): number {
  const pattern = new RegExp(`^\\w*${name} `)
  const line = text.split('\n').find((l) => pattern.test(l))
  const value = Number(line?.split(' ').at(-1))
  if (line === undefined || !Number.isFinite(value)) throw new Error(`/metrics has no ${name}`)
  return value
}

/** GET /metrics on a connection of its own, closed after the answer. */
async function scrape (url: string): Promise<string> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(`${url}/metrics`, { agent: false }, resolve).on('error', reject)
  })
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`)
  return Buffer.concat(chunks).toString()
}

/** The sum of every series of counter `name` (whatever its labels), from one scrape. */
export async function metricTotal (url: string, name: string): Promise<number> {
  const pattern = new RegExp(`^\\w*${name}(\\{[^}]*\\})? `)
  return (await scrape(url)).split('\n').filter((l) => pattern.test(l)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
}

export async function sampleProcess (url: string): Promise<ProcessSample> {
  const text = await scrape(url)
  return {
    at: Date.now(),
    rssBytes: valueOf(text, NAMES.rssBytes),
    heapUsedBytes: valueOf(text, NAMES.heapUsedBytes),
    heapTotalBytes: valueOf(text, NAMES.heapTotalBytes),
    externalBytes: valueOf(text, NAMES.externalBytes),
    activeHandles: valueOf(text, NAMES.activeHandles)
  }
}
