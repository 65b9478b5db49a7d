import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import t from 'tap'
import { copyIntoSlot } from '../../src/cache/hit-slot.js'

// The hit slots on their own (src/cache/hit-slot.ts): a slot goes back to its pool once, when
// the response that sends it has gone, so the next hit of that size reuses its buffer. Plain
// in-process code; real ServerResponse objects, not attached to a connection. Each test uses a
// slot size of its own: the pool is shared by the whole process.

const response = () => new ServerResponse(new IncomingMessage(new Socket()))
const reused = (a: Buffer, b: Buffer) => a.buffer === b.buffer

t.test('a response already gone when the slot is handed to it: the slot is given back at once', async (t) => {
  const first = copyIntoSlot(Buffer.alloc(5_000, 1)) // an 8 KiB slot
  const gone = response()
  gone.destroy()
  t.equal(gone.destroyed, true)
  first.slot.releaseWhenSent(gone)
  t.ok(reused(copyIntoSlot(Buffer.alloc(5_000, 2)).copy, first.copy), 'the next hit of that size reuses it')
})

t.test('a response still sending: the slot is given back when it closes, not before', async (t) => {
  const first = copyIntoSlot(Buffer.alloc(12_000, 1)) // a 16 KiB slot
  const sending = response()
  first.slot.releaseWhenSent(sending)
  const during = copyIntoSlot(Buffer.alloc(12_000, 2))
  t.notOk(reused(during.copy, first.copy), 'while it sends, another hit gets another buffer')
  t.same(first.copy, Buffer.alloc(12_000, 1), 'and the bytes being sent are intact')
  sending.emit('close')
  t.ok(reused(copyIntoSlot(Buffer.alloc(12_000, 3)).copy, first.copy), 'once it has closed, the slot is reused')
})

t.test('given back twice, a slot goes into the pool once', async (t) => {
  const first = copyIntoSlot(Buffer.alloc(20_000, 1)) // a 32 KiB slot
  first.slot.release()
  first.slot.release()
  const a = copyIntoSlot(Buffer.alloc(20_000, 2))
  const b = copyIntoSlot(Buffer.alloc(20_000, 3))
  t.ok(reused(a.copy, first.copy), 'the next hit reuses it')
  t.notOk(reused(b.copy, first.copy), 'the one after does not share it')
  t.same(a.copy, Buffer.alloc(20_000, 2))
})
