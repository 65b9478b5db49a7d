import t from 'tap'
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createWriteSettle } from '../../src/cache/near/write-settle.js'

// The writer's wait for near tiers' leases (src/cache/near/write-settle.ts), on its own: no wait
// where no near tier was ever seen, a wait of the lease once one was, even for a script whose own
// PUBLISH reached nobody (a near tier can get it through the cluster bus, or on a subscriber the
// server dropped unseen), and for a delivery that failed.

/** Whether `settled()` resolves within one turn of the event loop (no wait) or only later. */
async function waits (settle: ReturnType<typeof createWriteSettle>): Promise<boolean> {
  let done = false
  const settled = settle.settled().then(() => { done = true })
  await nextTurn()
  const waited = !done
  await settled
  return waited
}

t.test('no near tier seen: a write answers at once', async (t) => {
  const settle = createWriteSettle(50)
  settle.published(0)
  t.notOk(await waits(settle), 'no subscriber received anything: no wait')
})

t.test('a message a near tier received: the write waits out the lease', async (t) => {
  const settle = createWriteSettle(50)
  settle.published(2)
  t.ok(await waits(settle), 'two subscribers received it: the answer waits')
  t.notOk(await waits(settle), 'and once the lease has run out, nothing is left to wait for')
})

t.test('once near tiers were seen, a script that reached none (or failed) waits too', async (t) => {
  const settle = createWriteSettle(50)
  settle.published(1)
  await settle.settled()
  settle.published(0)
  t.ok(await waits(settle), 'its message may still reach a near tier another way')
})

t.test('the wait never ends before the lease has run out (a timer\'s whole milliseconds fire early)', async (t) => {
  const leaseMs = 10
  let early = 0
  for (let i = 0; i < 30; i++) {
    const settle = createWriteSettle(leaseMs)
    const before = performance.now()
    settle.published(1)
    await settle.settled()
    if (performance.now() - before < leaseMs) early++
  }
  t.equal(early, 0, '30 writes, none answered before its lease ran out')
})

t.test('later writes\' messages do not hold an earlier write\'s answer (the end is taken when it waits)', async (t) => {
  const leaseMs = 10
  const settle = createWriteSettle(leaseMs)
  settle.published(1)
  // Other writes publish every 2 ms, each message a lease of its own, for 100 leases.
  let publishing = true
  const stream = setInterval(() => settle.published(1), 2)
  const stop = setTimeout(() => { publishing = false; clearInterval(stream) }, 100 * leaseMs)
  t.teardown(() => { clearInterval(stream); clearTimeout(stop) })
  await settle.settled()
  t.ok(publishing, 'answered while the other writes were still publishing, not once they stopped')
})
