import type { ServerResponse } from 'node:http'

/** The slot sizes: an entry is copied into the smallest that holds it; larger ones get their own buffer. */
const SLOT_SIZES = [8 * 1024, 16 * 1024, 32 * 1024, 64 * 1024]
export const LARGEST_SLOT_BYTES = SLOT_SIZES[SLOT_SIZES.length - 1] as number
/** Free slots kept for reuse, per size (a slot is in use from a hit until its response has gone). */
const MAX_FREE_SLOTS_PER_SIZE = 128

/**
 * A reused buffer holding one hit's bytes, from the entry reader's copy until the response
 * that sends them has gone. The one object that owns giving it back:
 *
 * - made by `copyIntoSlot` (the entry reader, src/cache/entry-reader.ts, the moment a reply
 *   arrives: the connection's own buffer is reused by the next read);
 * - carried, untouched, on the CachedResponse (`slot`) through the read path;
 * - given back by `releaseWhenSent`, called once by whoever sends the bytes (plugins/app/cache.ts),
 *   or by `release` where a read's bytes are not sent (a reply after its deadline, a miss, a
 *   copy made from them). Both are idempotent: the slot goes back to its pool once.
 *
 * A slot never given back (a client gone before the send, say) is simply collected.
 */
export interface HitSlot {
  release: () => void
  /** Gives the slot back when `response` emits 'close' (after its last byte, or when the connection went), or now if it has gone. */
  releaseWhenSent: (response: ServerResponse) => void
}

const free = new Map<number, Buffer[]>(SLOT_SIZES.map((size) => [size, []]))

/** Copies `value` (at most LARGEST_SLOT_BYTES) into a free slot of the right size, or a new one. */
export function copyIntoSlot (value: Buffer): { copy: Buffer, slot: HitSlot } {
  const size = SLOT_SIZES.find((candidate) => candidate >= value.length) as number
  const freeOfSize = free.get(size) as Buffer[]
  const buffer = freeOfSize.pop() ?? Buffer.allocUnsafeSlow(size)
  value.copy(buffer)
  let released = false
  const release = () => {
    if (released) return
    released = true
    if (freeOfSize.length < MAX_FREE_SLOTS_PER_SIZE) freeOfSize.push(buffer)
  }
  return {
    copy: buffer.subarray(0, value.length),
    slot: {
      release,
      releaseWhenSent (response) {
        if (response.destroyed) release()
        else response.once('close', release)
      }
    }
  }
}
