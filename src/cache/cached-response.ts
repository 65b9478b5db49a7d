import type { ContentCoding } from '../http/representations.js'
import type { HitSlot } from './hit-slot.js'

/** A cacheable response: the exact bytes sent, and the ETag sent with them. */
export interface CachedResponse {
  body: Buffer | string
  etag: string
  /** The body's content coding, when it is a compressed copy (none: identity). */
  coding?: ContentCoding
  /** For a list page: the entities on it, so that a change to one of them invalidates it. */
  heldIds?: string[]
  /** A hit whose bytes are in a reused buffer: given back once sent (src/cache/hit-slot.ts). */
  slot?: HitSlot
  /** Served in grace (src/cache/grace.ts): the entry's age in seconds, for the Age header. */
  ageSeconds?: number
}

/** What the read path says about a response (the X-Cache header); GRACE only with CACHE_GRACE_SECONDS. */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'GRACE'

/** A route's load: its handler run and serialised (plugins/app/cache.ts), on a miss or a bypass. */
export type Load = () => Promise<CachedResponse>
