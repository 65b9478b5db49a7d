import { send } from './http-client.js'
import { now, type RequestLog } from './request-log.js'
import type { Workload } from './workload.js'

// The load driver: an open loop that starts `rate` requests a second, spread round-robin over
// the instances, whatever the answers' latency (a slow dependency shows as latency, not as a
// lower request rate). In-flight requests are capped; a start skipped at the cap is counted.

export interface DriverOptions {
  urls: string[]
  /** The Accept-Encoding of each instance's clients (same order as urls); identity when absent. */
  acceptEncodings?: Array<'br' | 'gzip' | undefined>
  rate: number
  maxInFlight: number
  timeoutMs: number
}

export class LoadDriver {
  skipped = 0
  private inFlight = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private started = 0
  private sent = 0

  constructor (private readonly options: DriverOptions, private readonly workload: Workload, private readonly log: RequestLog) {}

  start (): void {
    this.running = true
    this.started = now()
    this.sent = 0
    this.tick()
  }

  private tick (): void {
    if (!this.running) return
    // Catch up to the schedule (timers fire late under load), then sleep until the next start.
    const due = Math.floor((now() - this.started) * this.options.rate / 1000) + 1
    while (this.sent < due) {
      this.sent++
      if (this.inFlight.size >= this.options.maxInFlight) {
        this.skipped++
        continue
      }
      this.fire()
    }
    const nextAt = this.started + (this.sent * 1000) / this.options.rate
    this.timer = setTimeout(() => this.tick(), Math.max(0, nextAt - now()))
  }

  private fire (): void {
    const seq = this.log.nextSeq()
    const instance = seq % this.options.urls.length
    const acceptEncoding = this.options.acceptEncodings?.[instance]
    const call = { ...this.workload.next(), instance, baseUrl: this.options.urls[instance] as string, ...(acceptEncoding ? { acceptEncoding } : {}) }
    const done: Promise<void> = send(call, seq, this.options.timeoutMs).then((entry) => {
      this.log.add(entry)
      this.workload.observe(entry)
      this.inFlight.delete(done)
    })
    this.inFlight.add(done)
  }

  /** Stops starting requests and resolves when every one in flight has its answer. */
  async stop (): Promise<void> {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    await Promise.all([...this.inFlight])
  }
}

/**
 * The suite's driver over some instances, at `rate` (default: the run's): each instance's
 * clients send its profile's Accept-Encoding.
 */
export function driverFor (instances: Array<{ url: string }>, profiles: Array<{ acceptEncoding?: 'br' | 'gzip' }>,
  options: { rate: number, maxInFlight: number, clientTimeoutMs: number }, workload: Workload, log: RequestLog, rate = options.rate): LoadDriver {
  return new LoadDriver({
    urls: instances.map((i) => i.url),
    acceptEncodings: profiles.map((p) => p.acceptEncoding),
    rate,
    maxInFlight: options.maxInFlight,
    timeoutMs: options.clientTimeoutMs
  }, workload, log)
}
