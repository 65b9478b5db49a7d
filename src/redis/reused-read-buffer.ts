import { createConnection, type Socket } from 'node:net'
import { AbstractConnector, SentinelConnector, type SentinelConnectionOptions } from 'ioredis'

// Why this file exists: Node gives every socket read its own freshly allocated buffer, and V8
// counts those buffers as external memory. On the cache's entry connection each hit's entry
// arrives that way (35 KB for a 100-order page): at a few thousand hits a second they made V8
// run a full mark-compact of the heap every few hundred milliseconds, most of what a limit-100
// hit cost beyond a limit-10 one. Reading into buffers that are reused (net.Socket's `onread`
// option) allocates nothing per read.
//
// The price: the bytes handed to ioredis are views of those buffers. The rules that make it safe:
// - only complete replies are handed over (an incomplete tail waits in the buffer and the next
//   read lands after it), so ioredis's parser never holds a view from one read to the next;
// - reads go forward through one buffer and, when it is nearly full, the incomplete tail moves
//   to the front of the other one; so a region is written again only after at least one more
//   read has been delivered, hence after the microtasks that followed the read that filled it;
// - so a reply's bytes are valid until the microtasks that follow their read have run, and
//   whoever receives one copies what it keeps in its first reaction to the reply (see
//   src/cache/entry-reader.ts, the one user). Replies ioredis turns into strings are copied by
//   ioredis itself; a pipeline, or auto-pipelining, would hold replies until a batch completes.

const CR = 0x0d
const STAR = 0x2a
const DOLLAR = 0x24
const MINUS = 0x2d

/** The initial size of the reused buffer; it grows to fit a reply larger than it. */
export const INITIAL_READ_BUFFER_BYTES = 256 * 1024

/** The integer on a RESP header line between `from` and `to`; it is ASCII digits with an optional `-`. */
function headerInteger (buffer: Uint8Array, from: number, to: number): number {
  let negative = false
  let value = 0
  for (let at = from; at < to; at++) {
    const byte = buffer[at] as number
    if (byte === MINUS) negative = true
    else value = value * 10 + byte - 0x30
  }
  return negative ? -value : value
}

/**
 * Where the RESP2 reply starting at `at` ends (the index after its last byte), or -1 when the
 * bytes up to `end` do not hold all of it yet. Only the framing is read: a bulk string is
 * skipped by its length, not scanned.
 */
export function replyEnd (buffer: Uint8Array, at: number, end: number): number {
  if (at >= end) return -1
  let cr = at + 1
  while (cr < end && buffer[cr] !== CR) cr++
  // The line ends with CR LF: both must have arrived.
  if (cr + 1 >= end) return -1
  const afterLine = cr + 2
  const type = buffer[at]
  if (type === DOLLAR) {
    const length = headerInteger(buffer, at + 1, cr)
    if (length < 0) return afterLine
    const afterBulk = afterLine + length + 2
    return afterBulk <= end ? afterBulk : -1
  }
  if (type === STAR) {
    const count = headerInteger(buffer, at + 1, cr)
    let next = afterLine
    for (let element = 0; element < count; element++) {
      next = replyEnd(buffer, next, end)
      if (next < 0) return -1
    }
    return next
  }
  // +simple string, -error, :integer: the line is the whole reply.
  return afterLine
}

/** Where to connect: a TCP address, or a Unix socket's path. */
export type ReadBufferAddress = { host: string, port: number, family?: number } | { path: string }

/**
 * net.Socket's `onread` option for a socket that reads into two reused buffers and emits `data`
 * with complete RESP replies only (see the top of this file for how long they stay valid).
 * `socket` gives the socket it is an option of, made with it.
 */
function reusedReadBuffers (socket: () => Socket, initialBytes: number) {
  // Each read needs at least this much room; below it, the tail moves to the other buffer.
  const minimumRoom = Math.max(1, Math.floor(initialBytes / 4))
  let current = Buffer.allocUnsafe(initialBytes)
  let other = Buffer.allocUnsafe(initialBytes)
  // current[start, end) holds the bytes of replies not complete yet; the next read lands at end.
  let start = 0
  let end = 0

  function nextReadTarget (): Buffer {
    if (current.length - end >= minimumRoom) return current.subarray(end)
    const pending = end - start
    // The other buffer's bytes were all delivered before this read: it can be written now.
    if (other.length - pending < minimumRoom) other = Buffer.allocUnsafe(Math.max(initialBytes, (pending + minimumRoom) * 2))
    current.copy(other, 0, start, end)
    const previous = current
    current = other
    // Back to the usual size once a large reply has gone through.
    other = previous.length > initialBytes && pending === 0 ? Buffer.allocUnsafe(initialBytes) : previous
    start = 0
    end = pending
    return current.subarray(end)
  }

  return {
    buffer: nextReadTarget,
    // Returns true: keep reading (false would pause the socket).
    callback: (bytesRead: number): boolean => {
      end += bytesRead
      let complete = start
      for (let next = replyEnd(current, complete, end); next >= 0; next = replyEnd(current, complete, end)) complete = next
      if (complete > start) {
        const replies = current.subarray(start, complete)
        start = complete
        try {
          socket().emit('data', replies)
        } catch (err) {
          // A listener threw: Node then skips asking for the next buffer, and the parser may
          // hold a view of this one. The connection cannot be trusted; ioredis reconnects.
          socket().destroy(err instanceof Error ? err : new Error(String(err)))
          return false
        }
      }
      return true
    }
  }
}

/** A connection that reads into two reused buffers and emits `data` with complete RESP replies only. */
export function connectWithReusedReadBuffer (address: ReadBufferAddress, initialBytes = INITIAL_READ_BUFFER_BYTES): Socket {
  const socket: Socket = createConnection({ ...address, onread: reusedReadBuffers(() => socket, initialBytes) })
  return socket
}

/**
 * An ioredis connector (its `Connector` option) for a standalone Redis over plain TCP whose
 * connection reads into a reused buffer; see the top of this file for the rules it needs.
 */
export class ReusedReadBufferConnector extends AbstractConnector {
  private readonly address: ReadBufferAddress
  private readonly initialBytes: number

  // ioredis passes the client's whole options, with host and port (or path) from the URL;
  // `readBufferBytes` (tests only) sets the buffers' initial size.
  constructor (options: unknown) {
    const given = options as { host?: string, port?: number, family?: number, path?: string, disconnectTimeout?: number, readBufferBytes?: number }
    super(given.disconnectTimeout ?? 2000)
    this.initialBytes = given.readBufferBytes ?? INITIAL_READ_BUFFER_BYTES
    this.address = given.path
      ? { path: given.path }
      : { host: given.host ?? '127.0.0.1', port: given.port ?? 6379, ...(given.family ? { family: given.family } : {}) }
  }

  connect (): Promise<Socket> {
    this.connecting = true
    // As ioredis's own connector: connect on the next tick, so that a disconnect() called
    // right after connect() is honoured.
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        if (!this.connecting) {
          reject(new Error('Connection is closed.'))
          return
        }
        try {
          const stream = connectWithReusedReadBuffer(this.address, this.initialBytes)
          this.stream = stream
          stream.once('error', (err: Error) => { this.firstError = err })
          resolve(stream)
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
    })
  }
}

/**
 * ioredis's Sentinel connector, whose connection to the master the sentinels name reads into
 * reused buffers. That connector connects with `net.createConnection(address)`, the address
 * its (private) `resolve` returns after asking the sentinels; the reused buffers go in as that
 * address's `onread` option, so asking the sentinels, failing over and the failover detector
 * stay ioredis's own. Each connection (one per failover) gets buffers of its own, bound to its
 * own socket once `connect` has made it (no reply can arrive before: ioredis writes nothing
 * until then). Tested by test/topologies/redis-sentinel*.test.ts, which would fail at start-up
 * if ioredis renamed `resolve`.
 */
export class ReusedReadBufferSentinelConnector extends SentinelConnector {
  private bindSocket: ((socket: Socket) => void) | undefined

  constructor (options: unknown) {
    super(options as SentinelConnectionOptions)
    const connector = this as unknown as { resolve?: (endpoint: unknown) => Promise<object | null> }
    const resolve = connector.resolve?.bind(this)
    if (!resolve) throw new Error('ioredis\'s SentinelConnector has no resolve(): src/redis/reused-read-buffer.ts needs updating')
    connector.resolve = async (endpoint) => {
      const address = await resolve(endpoint)
      if (!address) return address
      let socket: Socket | undefined
      this.bindSocket = (made) => { socket = made }
      return { ...address, onread: reusedReadBuffers(() => socket as Socket, INITIAL_READ_BUFFER_BYTES) }
    }
  }

  override async connect (...args: Parameters<SentinelConnector['connect']>): ReturnType<SentinelConnector['connect']> {
    const stream = await super.connect(...args)
    this.bindSocket?.(stream as Socket)
    this.bindSocket = undefined
    return stream
  }
}
