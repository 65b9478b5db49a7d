import type { LightMyRequestResponse } from 'fastify'
import { metric } from './metrics-text.js'

// Reads one service metric the way Prometheus does: through GET /metrics. Not a test file.

const PREFIX = 'flowops_order_service_'

interface Scrapable {
  inject: (options: { method: 'GET', url: string }) => Promise<LightMyRequestResponse>
}

/** One scrape, read as many times as needed: the value of a metric in it (see metric()). */
export async function scrapeAll (app: Scrapable): Promise<(name: string, labels?: Record<string, string>) => number> {
  const { body } = await app.inject({ method: 'GET', url: '/metrics' })
  return (name, labels = {}) => metric(body, `${PREFIX}${name}`, labels)
}

/** One metric's value, from a scrape of its own. */
export async function scrape (app: Scrapable, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await scrapeAll(app))(name, labels)
}
