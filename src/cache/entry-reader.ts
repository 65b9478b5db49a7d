import { once } from 'node:events'
import type { Redis } from 'ioredis'
import type { RedisClient } from '../redis/create-redis-client.js'

/** Entries up to this size are copied into buffers that are reused; larger ones get their own. */
export const SLOT_BYTES = 64 * 1024
/** Free slots kept for reuse (a slot is in use from a hit until its response has gone). */
const MAX_FREE_SLOTS = 256
/** Below this, a copy comes from Node's shared buffer pool, which costs no allocation either. */
const POOLED_COPY_MAX_BYTES = 4 * 1024

/** What a read returned: the MGET's values, and, for an entry copied into a slot, how to give it back. */
export interface EntryRead {
  found: Array<Buffer | null>
  /** Call once the entry's bytes are no longer used: when its response has been sent. */
  release?: () => void
}

/**
 * The cache's read of identity entries (an MGET of the generation, the entry and, for a list
 * page, its change clock), on a connection of its own that reads into reused buffers
 * (src/redis/reused-read-buffer.ts, where the reason is). Its replies are views valid only
 * until the next read, so each value is copied in the first reaction to the reply: a large
 * entry into a slot that is reused once its response has been sent (`release`), never into a
 * fresh buffer, which would be the very allocation the connection avoids.
 *
 * Without ioredis's auto-pipelining (it would hold replies until the whole batch has come),
 * the commands of one turn of the event loop still leave in one write: the socket is corked
 * at the first and uncorked when the turn ends, as auto-pipelining does with setImmediate.
 *
 * `connection` undefined (Redis Cluster, Sentinel, TLS): the reads go on `fallback` as any
 * other command, whose replies are buffers of their own.
 */
export function createEntryReader (connection: Redis | undefined, fallback: RedisClient) {
  const free: Buffer[] = []
  let corked = false

  function slotCopy (value: Buffer): { copy: Buffer, release: () => void } {
    const slot = free.pop() ?? Buffer.allocUnsafeSlow(SLOT_BYTES)
    value.copy(slot)
    let released = false
    return {
      copy: slot.subarray(0, value.length),
      release: () => {
        if (released) return
        released = true
        if (free.length < MAX_FREE_SLOTS) free.push(slot)
      }
    }
  }

  function copyOut (values: Array<Buffer | null>): EntryRead {
    let release: (() => void) | undefined
    const found = values.map((value) => {
      if (value === null) return null
      if (value.length <= POOLED_COPY_MAX_BYTES || value.length > SLOT_BYTES || release) return Buffer.from(value)
      const slotted = slotCopy(value)
      release = slotted.release
      return slotted.copy
    })
    return release ? { found, release } : { found }
  }

  function writeWithTheTurn (stream: Redis['stream']): void {
    if (corked) return
    corked = true
    stream.cork()
    setImmediate(() => {
      corked = false
      stream.uncork()
    })
  }

  const client: RedisClient = connection ?? fallback
  return {
    get status (): string {
      return client.status
    },

    /** Resolves once the connection is ready (it connects in the background, as the client does). */
    async ready (): Promise<void> {
      if (client.status !== 'ready') await once(client, 'ready')
    },

    read (keys: string[]): Promise<EntryRead> {
      if (connection === undefined) return fallback.mgetBuffer(keys).then((found) => ({ found }))
      writeWithTheTurn(connection.stream)
      // The copy is the reply's first reaction: see above.
      return connection.mgetBuffer(keys).then(copyOut)
    }
  }
}

export type EntryReader = ReturnType<typeof createEntryReader>
