import type { CachedResponse } from '../cached-response.js'

interface NearEntry {
  response: CachedResponse
  bytes: number
  expiresAt: number
  isListPage: boolean
}

/**
 * The near tier's storage: a byte-bounded LRU of responses in this process, each living at
 * most `ttlMs`. It knows nothing of coherence; the near tier (near-tier.ts) decides when to
 * store, drop and empty it.
 */
export function createNearStore ({ maxBytes, ttlMs, onBytes }: { maxBytes: number, ttlMs: number, onBytes: (bytes: number) => void }) {
  // Map iteration order is insertion order: re-inserting on every hit makes the first key the
  // least recently used.
  const entries = new Map<string, NearEntry>()
  let totalBytes = 0

  function remove (key: string): void {
    const entry = entries.get(key)
    if (!entry) return
    entries.delete(key)
    totalBytes -= entry.bytes
  }

  return {
    get size (): number { return entries.size },

    /** Whether `key` is held and not expired, without touching its place in the eviction order. */
    has (key: string): boolean {
      const entry = entries.get(key)
      return entry !== undefined && entry.expiresAt > Date.now()
    },

    get (key: string): CachedResponse | undefined {
      const entry = entries.get(key)
      if (!entry) return undefined
      if (entry.expiresAt <= Date.now()) {
        remove(key)
        return undefined
      }
      entries.delete(key)
      entries.set(key, entry)
      return entry.response
    },

    set (key: string, response: CachedResponse, isListPage: boolean): void {
      const bytes = response.body.length + response.etag.length + key.length
      if (bytes > maxBytes) return
      remove(key)
      entries.set(key, { response, bytes, expiresAt: Date.now() + ttlMs, isListPage })
      totalBytes += bytes
      for (const [oldest] of entries) {
        if (totalBytes <= maxBytes) break
        remove(oldest)
      }
      onBytes(totalBytes)
    },

    /** Drops these keys, and every list page when `lists`. */
    drop (keys: readonly string[], lists: boolean): void {
      if (lists) for (const [key, entry] of entries) if (entry.isListPage) remove(key)
      for (const key of keys) remove(key)
      onBytes(totalBytes)
    },

    clear (): void {
      entries.clear()
      totalBytes = 0
      onBytes(0)
    }
  }
}
