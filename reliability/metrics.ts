// The process figures the soak watches, read from the service's Prometheus /metrics
// (prom-client's default process metrics, which the service names with its own prefix).

import type { SocketCounts } from './sockets.js'

export interface ProcessSample {
  at: number
  rssBytes: number
  heapUsedBytes: number
  activeHandles: number
  /** Its TCP connections by peer, when known (Linux). */
  sockets?: SocketCounts
}

const NAMES = {
  rssBytes: 'process_resident_memory_bytes',
  heapUsedBytes: 'nodejs_heap_size_used_bytes',
  activeHandles: 'nodejs_active_handles_total'
} as const

function valueOf (text: string, name: string): number {
  const pattern = new RegExp(`^\\w*${name} `)
  const line = text.split('\n').find((l) => pattern.test(l))
  const value = Number(line?.split(' ').at(-1))
  if (line === undefined || !Number.isFinite(value)) throw new Error(`/metrics has no ${name}`)
  return value
}

export async function sampleProcess (url: string): Promise<ProcessSample> {
  const response = await fetch(`${url}/metrics`)
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`)
  const text = await response.text()
  return {
    at: Date.now(),
    rssBytes: valueOf(text, NAMES.rssBytes),
    heapUsedBytes: valueOf(text, NAMES.heapUsedBytes),
    activeHandles: valueOf(text, NAMES.activeHandles)
  }
}
