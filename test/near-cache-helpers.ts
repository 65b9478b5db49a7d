import type { Test } from 'tap'
import type { TestApp } from './helper.js'
import { eventually } from './processes.js'
import { scrape } from './scrape.js'

// What the near-cache tests share. Not a test file.

/**
 * The near cache on, 1 MiB per instance, with a lease long enough that a busy test machine's
 * event-loop lag does not turn a near hit into a Redis hit (the heartbeat renews it every
 * 100 ms). The lease itself is tested at its default, 10 ms: test/cache/near-lease.test.ts.
 */
export const NEAR = { CACHE_NEAR_MAX_BYTES: String(1024 * 1024), CACHE_NEAR_LEASE_MS: '200' }

/**
 * Reads `url` until the near cache serves it, and returns that answer's body: a Redis hit
 * stores it near, unless an invalidation message (say, of the order just created) arrived
 * while that read was out; then it is stored on the next one.
 */
export async function warmNear (t: Test, app: TestApp, url: string): Promise<string> {
  await app.inject(url)
  for (let attempt = 1; attempt <= 5; attempt++) {
    const before = await scrape(app, 'cache_near_hits_total')
    const response = await app.inject(url)
    if (await scrape(app, 'cache_near_hits_total') === before + 1) {
      t.equal(response.headers['x-cache'], 'HIT', `${url} is a near hit`)
      return response.body
    }
  }
  throw new Error(`${url}: no near hit after 5 reads`)
}

/**
 * Plays `round` (numbered from 1) until it returns true, at most 5 times. A round holds a reply
 * in a relay while `app`'s near cache must stay on; the heartbeat turns it off after 250 ms
 * without an answer, and a round in which that happened proves nothing (it returns false) and
 * is played again. A PUT and a GET take a few tens of milliseconds on loopback.
 */
export async function whileNearStaysOn (t: Test, app: TestApp, round: (n: number) => Promise<boolean>): Promise<void> {
  for (let n = 1; n <= 5; n++) {
    await eventually(() => app.cache.status().near === 'on')
    if (await round(n)) return
    t.comment(`round ${n}: the heartbeat turned the near cache off while the reply was held; again`)
  }
  t.fail('the near cache never stayed on through a held reply in 5 rounds')
}
