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

/** Told the read's CacheStatus as soon as the read path knows it (the plugin sets X-Cache). */
export type OnStatus = (status: CacheStatus) => void

/** A route's load: its handler run and serialised (plugins/app/cache.ts), on a miss or a bypass. */
export type Load = () => Promise<CachedResponse>

/**
 * Noted before loading: the generation ('' when the key has none yet) and, for a list page,
 * the change clock ('' when no entity has changed yet); and the near tier's epoch. A fill is
 * refused unless they are still current (scripts/fill-if-generation.ts).
 */
export interface Noted { generation: string, changeClock: string, nearEpoch: number }

/** What a lookup found (src/cache/read-through.ts). */
export type Lookup =
  // `stored`: the entry as Redis holds it (in the response's slot, if it has one). `ageMs`: how
  // long ago it was filled (undefined when its fill time is not known). PAST_TTL: a current
  // entry kept past its TTL for grace (CACHE_GRACE_SECONDS), never served as a hit.
  | { status: 'HIT' | 'PAST_TTL', response: CachedResponse, stored: Buffer, noted: Noted, ageMs: number | undefined }
  | ({ status: 'MISS' } & Noted)
  | { status: 'BYPASS' }
