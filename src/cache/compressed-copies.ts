import { createHash } from 'node:crypto'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import type { RedisClient } from '../redis/create-redis-client.js'
import { COMPRESSION_THRESHOLD_BYTES, compressBody, CONTENT_CODINGS, isContentCoding, type ContentCoding } from '../http/representations.js'
import type { CachedResponse, Load, OnStatus } from './cached-response.js'
import type { CacheTarget } from './keys.js'
import type { NearTier } from './near/near-tier.js'
import type { ReadThrough } from './read-through.js'
import { fillCompressedCopy } from './scripts/fill-compressed-copy.js'

// Compressed copies, all of them: a cached response's copy in a content coding lives beside it,
// under `<entry key>:<coding>` (same hash tag, so the same Redis Cluster slot), with the
// entry's generation and remaining TTL. A client that accepts br or gzip is sent the copy as it
// is stored, as an identity client is sent the entry. Every script that deletes or rewrites an
// entry deletes its copies (it is given COPY_SUFFIXES), and the near tier drops them with it.

/** The codings a copy may be kept in: CONTENT_CODINGS, the one list (src/http/representations.ts says what adding one takes). */
const COPY_CODINGS: readonly string[] = CONTENT_CODINGS

/** The suffix of a copy's key, after its entry's key. */
export const copySuffix = (coding: string): string => `:${coding}`

/** Every copy's key suffix: what invalidations delete beside an entry. */
export const COPY_SUFFIXES: readonly string[] = COPY_CODINGS.map(copySuffix)

/** Where the copy of a cached response lives: beside it, guarded by the same generation. */
function copyOf (target: CacheTarget, coding: string): CacheTarget {
  return { key: target.key + copySuffix(coding), generationKey: target.generationKey, generationExpires: target.generationExpires, isListPage: target.isListPage, filledKey: target.filledKey }
}

/**
 * A copy is an entry whose ETag line reads `<coding> <etag>`; `identity` marks a body too small
 * to be worth compressing, stored so that the next request knows at once.
 */
const copyEtag = (coding: ContentCoding | 'identity', etag: string) => `${coding} ${etag}`

function decodeCopy (copy: CachedResponse): CachedResponse {
  const space = copy.etag.indexOf(' ')
  const coding = copy.etag.slice(0, space)
  const etag = copy.etag.slice(space + 1)
  const slot = copy.slot ? { slot: copy.slot } : {}
  return isContentCoding(coding) ? { body: copy.body, etag, coding, ...slot } : { body: copy.body, etag, ...slot }
}

const asBuffer = (body: Buffer | string) => Buffer.isBuffer(body) ? body : Buffer.from(body)

/** The response in `coding` when it is large enough to be worth it; else itself (identity). */
function inCoding (response: CachedResponse, coding: ContentCoding): CachedResponse {
  const identity = asBuffer(response.body)
  if (identity.length < COMPRESSION_THRESHOLD_BYTES) return response
  const age = response.ageSeconds !== undefined ? { ageSeconds: response.ageSeconds } : {}
  return { body: compressBody(identity, coding), etag: response.etag, coding, ...age }
}

export function createCompressedCopies ({ redis, core, near, metrics }: {
  redis: RedisClient
  core: ReadThrough
  near: NearTier
  metrics: ServiceMetrics
}) {
  /**
   * Stores the copy (or, for a body too small to compress, a note saying so) of an entry just
   * read from Redis, only while that entry is still exactly what was read: its SHA-1 is checked
   * in the script, so a copy can never outlive a rewrite or deletion it raced.
   */
  async function fill (target: CacheTarget, coding: ContentCoding, stored: Buffer, copy: CachedResponse, copyCoding: ContentCoding | 'identity'): Promise<void> {
    if (!core.usable()) return
    await core.redisCall('compressed fill', () => fillCompressedCopy(redis, {
      entryKey: target.key,
      copyKey: target.key + copySuffix(coding),
      entrySha1: createHash('sha1').update(stored).digest('hex'),
      payload: Buffer.concat([Buffer.from(`${copyEtag(copyCoding, copy.etag)}\n`, 'latin1'), asBuffer(copy.body)])
    }))
  }

  return {
    /** Whether the near tier holds what `nearHit` would serve, and only its lease keeps it from serving it now. */
    heldNearPastLease: (target: CacheTarget, coding: ContentCoding): boolean => near.heldPastLease([target.key + copySuffix(coding), target.key]),

    /**
     * From the near tier, synchronously: the copy held near, else the identity entry held near
     * compressed now and kept near beside it (a near entry has no Redis bytes to check a stored
     * copy against; made in the tick the entry was read, so it is as current).
     */
    nearHit (target: CacheTarget, coding: ContentCoding, caughtUp = false): CachedResponse | undefined {
      const copyKey = target.key + copySuffix(coding)
      const heldCopy = near.get(copyKey, caughtUp)
      if (heldCopy) {
        metrics.cache.compressedHits.inc()
        return decodeCopy(heldCopy)
      }
      const held = near.get(target.key, caughtUp)
      if (!held) return undefined
      const identity = asBuffer(held.body)
      const compressed = identity.length >= COMPRESSION_THRESHOLD_BYTES ? compressBody(identity, coding) : undefined
      near.store(copyKey, { body: compressed ?? identity, etag: copyEtag(compressed ? coding : 'identity', held.etag) }, near.epoch(), target.isListPage)
      return compressed ? { body: compressed, etag: held.etag, coding } : held
    },

    /**
     * The read path for a client that accepts `coding`: the entry's copy when it has one (one
     * round trip, as any hit); otherwise the entry, through the core, and when that was a Redis
     * hit, its copy is made once and stored beside it. A miss or a bypass is compressed here
     * too, so that every answer of a cached route is in the coding its tag names. Without a
     * coding in the answer it is the identity bytes (a body too small to compress).
     */
    async readThrough (target: CacheTarget, coding: ContentCoding, load: Load, onStatus: OnStatus): Promise<CachedResponse> {
      const found = await core.lookup(copyOf(target, coding))
      if (found.status === 'HIT') {
        onStatus('HIT')
        metrics.cache.hits.inc()
        metrics.cache.compressedHits.inc()
        // The copy's age is its entry's: a refresh when due reloads the entry (the copy goes on
        // until its own expiry, the old entry's, and is made again from the new one).
        core.refreshIfDue(target, found.noted, found.ageMs, load)
        return decodeCopy(found.response)
      }
      if (found.status === 'BYPASS') {
        // Redis just failed (or is off limits): a second lookup would only pay its deadline again.
        onStatus('BYPASS')
        return inCoding(await core.bypass(target, load), coding)
      }
      const { response, stored } = await core.readThrough(target, load, onStatus)
      if (found.status === 'PAST_TTL') {
        // The copy was past its TTL, kept for grace: if the entry is served in grace, so is the copy.
        if (response.ageSeconds !== undefined) {
          response.slot?.release()
          return { ...decodeCopy(found.response), ageSeconds: response.ageSeconds }
        }
        found.response.slot?.release()
      }
      if (!stored) return inCoding(response, coding)
      const coded = inCoding(response, coding)
      await fill(target, coding, stored, coded, coded.coding ?? 'identity')
      if (coded !== response) response.slot?.release()
      return coded
    }
  }
}
