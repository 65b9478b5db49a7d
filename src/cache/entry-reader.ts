import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { ServiceMetrics } from '../metrics/service-metrics.js'
import { Cluster, Redis } from 'ioredis'
import { createEntryConnection, type RedisClient } from '../redis/create-redis-client.js'
import { reconnectWhenEnded } from '../redis/reconnect-when-ended.js'
import { slotOwners } from '../redis/slot-owners.js'
import { copyIntoSlot, LARGEST_SLOT_BYTES, type HitSlot } from './hit-slot.js'

export { LARGEST_SLOT_BYTES }

/** Below this, Buffer.from copies into Node's shared pool rather than a buffer of its own. */
const POOLED_COPY_BELOW_BYTES = 4 * 1024

/** What a read returned: the MGET's values, and the slot an entry was copied into (src/cache/hit-slot.ts). */
export interface EntryRead {
  found: Array<Buffer | null>
  slot?: HitSlot
}

/**
 * The cache's read of entries and their compressed copies (an MGET of the generation, the
 * entry and, for a list page, its change clock). The entries' format, which the core decodes and
 * the fill script writes, is at the end of this file. Without TLS it goes on a connection of its own
 * that reads into reused buffers (src/redis/reused-read-buffer.ts, where the reason is): on a
 * Cluster, one per node (a Cluster of them), and under Sentinel, one to the master. Its
 * replies are views valid only until the next read, so each value is copied in the first
 * reaction to the reply: a large entry into a slot that is reused once its response has been
 * sent (src/cache/hit-slot.ts), never into a fresh buffer, which would be the very allocation the
 * connection avoids. A slot never given back (a reply after its deadline, a client gone) is
 * simply collected.
 *
 * The connection stays private to this file: its replies need that first-reaction copy, and a
 * pipeline (or ioredis's auto-pipelining) would hold them until a whole batch has come. The
 * commands of one turn of the event loop still leave in one write: the socket is corked at the
 * first and uncorked when the turn ends, as auto-pipelining does with setImmediate (on a
 * Cluster, every master's connection: one write per node and turn). On a Cluster the MGET is
 * written straight to the connection of the master that owns its slot in ioredis's slot map
 * (src/redis/slot-owners.ts: all its keys share one slot); if that node answers with a
 * redirection (the map was out of date), or there is no such connection, it goes through the
 * Cluster client, whose reply reaches the read through ioredis's redirections (MOVED, ASK) in
 * the same microtasks that follow its socket read, so the first-reaction copy holds there too.
 *
 * Whenever that connection is not ready or fails a read (and with TLS, where there is none),
 * entries are read on `fallback`, the service's client, as any other command: the
 * cache never depends on a connection of its own being up.
 */
export function createEntryReader ({ config, fallback, metrics, log, connection = createEntryConnection(config) }: {
  config: Config
  fallback: RedisClient
  metrics: ServiceMetrics
  log: FastifyBaseLogger
  /** Tests only: a connection of their own making (the default is made from `config`). */
  connection?: RedisClient | undefined
}) {
  let corked = false
  const owners = connection instanceof Cluster ? slotOwners(connection) : undefined

  let healthy = true
  connection?.on('ready', () => {
    if (!healthy) log.info('cache entry connection restored')
    healthy = true
  })
  connection?.on('error', (err: Error) => {
    metrics.redisErrors.inc({ component: 'connection' })
    if (healthy) log.warn({ err }, 'cache entry connection unavailable; entries are read on the main connection')
    healthy = false
  })
  // Ended by ioredis itself (a Sentinel failover): it would stay ended, every read on the fallback.
  if (connection) reconnectWhenEnded(connection, { onEnded: () => log.warn('cache entry connection ended by itself; connecting again') })

  function copyOut (values: Array<Buffer | null>): EntryRead {
    let slot: HitSlot | undefined
    const found = values.map((value) => {
      if (value === null) return null
      if (value.length < POOLED_COPY_BELOW_BYTES || value.length > LARGEST_SLOT_BYTES || slot) return Buffer.from(value)
      const slotted = copyIntoSlot(value)
      slot = slotted.slot
      return slotted.copy
    })
    return slot ? { found, slot } : { found }
  }

  /** Corks the connection's sockets (a Cluster's: every master's) until the turn ends. */
  function writeWithTheTurn (to: RedisClient): void {
    if (corked) return
    corked = true
    // A node not connected yet has no stream: it writes on its own once connected.
    const streams = to instanceof Redis ? [to.stream] : to.nodes('master').flatMap((node) => node.stream === undefined ? [] : [node.stream])
    for (const stream of streams) stream.cork()
    setImmediate(() => {
      corked = false
      for (const stream of streams) stream.uncork()
    })
  }

  return {
    read (keys: string[]): Promise<EntryRead> {
      const onFallback = () => fallback.mgetBuffer(keys).then((found) => ({ found }))
      if (connection?.status !== 'ready') return onFallback()
      writeWithTheTurn(connection)
      // The copy is the reply's first reaction: see above. A read the entry connection failed
      // (it closed under the command, or an error reply) is a read: it is tried again on the
      // fallback, which, with Redis itself down, fails at once as well.
      const routed = () => connection.mgetBuffer(keys).then(copyOut, onFallback)
      const owner = owners?.ownerOf(keys[0] as string)
      // A redirection (or any failure) on the direct path is sent again through the Cluster client.
      return owner?.status === 'ready' ? owner.mgetBuffer(keys).then(copyOut, routed) : routed()
    },

    /** Resolves once the entry connection is ready (it connects in the background, as the service's client does). */
    async ready (): Promise<void> {
      if (connection && connection.status !== 'ready') await once(connection, 'ready')
    },

    close (): void {
      owners?.close()
      connection?.disconnect()
    }
  }
}

export type EntryReader = ReturnType<typeof createEntryReader>

// A cache entry is the response body prefixed by a two-line header:
//
//   <generation>\n<etag>\n<body bytes>
//
// The generation is the one the filler observed before reading MongoDB (the fill script
// writes it in front, see scripts/fill-if-generation.ts); a hit requires it to equal the current generation:
// the list generation, which a POST bumps, or the order's, which its PUT and DELETE bump. A PUT
// or DELETE does not bump the list generation: it rewrites or deletes the list pages holding its
// order (see PageTracking in src/cache/keys.ts). The body is sent exactly as stored: a hit slices the
// buffer, it never parses or re-serialises JSON.
//
// Beside the entry, under `<entry key>:filled` and with the same TTL, the fill script stores
// when it filled it (Redis's clock, ms): the entry's age, for an eager refresh
// (src/cache/refresh-ahead.ts) and for grace (src/cache/grace.ts). Compared with this process's
// clock: a skew between the two moves both by as much.

const NEWLINE = 0x0a

/** What the fill script stores after the generation line. */
export function entryPayload (etag: string, body: string): string {
  return `${etag}\n${body}`
}

export function decodeEntry (stored: Buffer): { generation: Buffer, etag: string, body: Buffer } | undefined {
  const first = stored.indexOf(NEWLINE)
  if (first < 0) return undefined
  const second = stored.indexOf(NEWLINE, first + 1)
  if (second < 0) return undefined
  return {
    generation: stored.subarray(0, first),
    etag: stored.toString('latin1', first + 1, second),
    body: stored.subarray(second + 1)
  }
}

/** The fill time stored beside an entry (ms, Redis's clock) as its age now; undefined when not known. */
export function entryAge (filled: Buffer | null | undefined): number | undefined {
  const at = filled ? Number(filled.toString('latin1')) : NaN
  return Number.isFinite(at) ? Math.max(0, Date.now() - at) : undefined
}
