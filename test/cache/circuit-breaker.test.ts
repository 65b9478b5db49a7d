import t from 'tap'
import { BreakerOpenError, createCircuitBreaker } from '../../src/redis/call-guards.js'

// The breaker's contract, on a clock the test moves: asking (isOpen) takes nothing, and the
// half-open probe can only be taken by a call, which settles it whatever the call does.

function breakerAt () {
  let now = 0
  const breaker = createCircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => now })
  return { breaker, advance: (ms: number) => { now += ms } }
}

const failing = () => Promise.reject(new Error('redis failed'))

t.test('asking never takes the probe; a call takes it and settles it', async (t) => {
  const { breaker, advance } = breakerAt()
  for (let i = 0; i < 2; i++) await t.rejects(breaker.call(failing), /redis failed/)
  t.equal(breaker.state(), 'open')
  t.equal(breaker.isOpen(), true)
  await t.rejects(breaker.call(async () => 'not run'), BreakerOpenError, 'open: refused without running the call')
  advance(1000)
  t.equal(breaker.state(), 'half-open')
  for (let i = 0; i < 100; i++) t.equal(breaker.isOpen(), false, 'asked again and again: the probe is still there')
  let release: (value: string) => void = () => {}
  const probe = breaker.call(() => new Promise<string>((resolve) => { release = resolve }))
  t.equal(breaker.isOpen(), true, 'while the probe is out, calls are refused')
  await t.rejects(breaker.call(async () => 'second'), BreakerOpenError)
  release('answered')
  t.equal(await probe, 'answered')
  t.equal(breaker.state(), 'closed', 'the probe succeeded: closed')
})

t.test('a failed probe opens it again; a probe that throws at once is settled too', async (t) => {
  const { breaker, advance } = breakerAt()
  for (let i = 0; i < 2; i++) await t.rejects(breaker.call(failing))
  advance(1000)
  await t.rejects(breaker.call(() => { throw new Error('thrown before any promise') }))
  t.equal(breaker.state(), 'open', 'the failed probe re-opened it')
  advance(1000)
  t.equal(await breaker.call(async () => 42), 42)
  t.equal(breaker.state(), 'closed')
})
