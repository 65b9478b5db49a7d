import type { Call } from './http-client.js'
import type { LogEntry } from './request-log.js'

// The mixed workload: mostly reads over many pages and ids, some creates, updates (with and
// without If-Match) and cancels. It learns ids and versions from the answers it gets.

const MIX = { get: 0.55, list: 0.30, create: 0.04, update: 0.08, cancel: 0.03 }
const PAGE_SIZE = 10

interface Known { version: number, pending: boolean }

export class Workload {
  private readonly orders = new Map<string, Known>()
  private readonly ids: string[] = []
  private counter = 0

  constructor (private readonly random: () => number = Math.random) {}

  get orderCount (): number {
    return this.ids.length
  }

  /** Learns from an answer: new ids, newer versions, orders that can no longer change. */
  observe (entry: LogEntry): void {
    const order = entry.order
    if (!order) return
    let known = this.orders.get(order._id)
    if (!known) {
      known = { version: 0, pending: true }
      this.orders.set(order._id, known)
      this.ids.push(order._id)
    }
    if (order.version >= known.version) {
      known.version = order.version
      known.pending = order.status === 'Pending'
    }
  }

  private pick (pendingOnly: boolean): string | undefined {
    for (let attempt = 0; attempt < 20; attempt++) {
      const id = this.ids[Math.floor(this.random() * this.ids.length)]
      if (id !== undefined && (!pendingOnly || this.orders.get(id)?.pending === true)) return id
    }
    return this.ids[Math.floor(this.random() * this.ids.length)]
  }

  newOrderBody (): unknown {
    const n = this.counter++
    return {
      customer: `Reliability Customer ${n}`,
      address: `${n} Fault Street, Loopback`,
      items: [{ sku: `SKU-${n % 97}`, qty: 1 + (n % 5), price: (n % 10000) / 100 }]
    }
  }

  /** The next request, without its instance (the driver spreads them). */
  next (): Omit<Call, 'instance' | 'baseUrl'> {
    if (this.ids.length === 0) return { kind: 'create', method: 'POST', path: '/orders', body: this.newOrderBody() }
    let roll = this.random()
    if ((roll -= MIX.get) < 0) {
      const id = this.pick(false)
      return { kind: 'get', method: 'GET', path: `/orders/${id}`, orderId: id }
    }
    if ((roll -= MIX.list) < 0) {
      const pages = Math.max(1, Math.ceil(this.ids.length / PAGE_SIZE))
      const page = 1 + Math.floor(this.random() * pages)
      return { kind: 'list', method: 'GET', path: `/orders?page=${page}&limit=${PAGE_SIZE}` }
    }
    if ((roll -= MIX.create) < 0) return { kind: 'create', method: 'POST', path: '/orders', body: this.newOrderBody() }
    const id = this.pick(true) as string
    const known = this.orders.get(id)
    const ifMatch = known !== undefined && this.random() < 0.5 ? { ifMatch: known.version } : {}
    if ((roll -= MIX.update) < 0) {
      const n = this.counter++
      const body = this.random() < 0.05 ? { status: 'Completed' } : { customer: `Updated Customer ${n}`, address: `${n} Update Road` }
      return { kind: 'update', method: 'PUT', path: `/orders/${id}`, orderId: id, body, ...ifMatch }
    }
    return { kind: 'cancel', method: 'DELETE', path: `/orders/${id}`, orderId: id, ...ifMatch }
  }
}
