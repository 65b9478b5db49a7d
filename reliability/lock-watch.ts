import { Redis } from 'ioredis'
import { now } from './request-log.js'

// Watches the per-order lock keys in Redis for the whole run. Each lock is a key with a random
// token as its value, so one (key, token) pair is one holding. A holding must carry a TTL no
// longer than LOCK_TTL_SECONDS and must be gone within it. Observed by polling (SCAN + GET +
// PTTL every 100 ms): Redis has no event for a key that stays.

export const LOCK_PATTERN = 'flowops:order-service:v1:locks:order:*'
const POLL_MS = 100

export interface Holding { key: string, token: string, firstSeen: number, lastSeen: number, maxPttl: number, noTtl: boolean }

export class LockWatch {
  readonly holdings = new Map<string, Holding>()
  polls = 0
  failedPolls = 0
  private readonly client: Redis
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (redisUrl: string) {
    // Its own client: reconnects forever, fails fast while Redis is down or frozen.
    this.client = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      lazyConnect: false,
      retryStrategy: () => 200
    })
    this.client.on('error', () => {})
  }

  start (): void {
    const loop = async () => {
      await this.poll()
      if (!this.stopped) this.timer = setTimeout(loop, POLL_MS)
    }
    loop().catch(() => {})
  }

  private async poll (): Promise<void> {
    this.polls++
    try {
      let cursor = '0'
      do {
        const [next, keys] = await this.client.scan(cursor, 'MATCH', LOCK_PATTERN, 'COUNT', 1000)
        cursor = next
        for (const key of keys) await this.inspect(key)
      } while (cursor !== '0')
    } catch {
      this.failedPolls++
    }
  }

  private async inspect (key: string): Promise<void> {
    const [[, token], [, pttl]] = (await this.client.multi().get(key).pttl(key).exec()) as [[unknown, string | null], [unknown, number]]
    if (token === null) return
    const at = now()
    const id = `${key} ${token}`
    const holding = this.holdings.get(id) ?? { key, token, firstSeen: at, lastSeen: at, maxPttl: 0, noTtl: false }
    holding.lastSeen = at
    if (pttl === -1) holding.noTtl = true
    holding.maxPttl = Math.max(holding.maxPttl, pttl)
    this.holdings.set(id, holding)
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.poll()
    this.client.disconnect()
  }
}
