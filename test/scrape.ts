import type { LightMyRequestResponse } from 'fastify'
import { metric } from './metrics-text.js'

// Reads one service metric the way Prometheus does: through GET /metrics. Not a test file.

const PREFIX = 'flowops_order_service_'

interface Scrapable {
  inject: (options: { method: 'GET', url: string }) => Promise<LightMyRequestResponse>
}

export async function scrape (app: Scrapable, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  return metric(response.body, `${PREFIX}${name}`, labels)
}
