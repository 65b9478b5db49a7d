import t from 'tap'
import { createNearStore } from '../../src/cache/near/near-store.js'
import type { CachedResponse } from '../../src/cache/cached-response.js'

// The near tier's storage on its own (src/cache/near/near-store.ts): a byte-bounded LRU whose
// entries live at most ttlMs. Plain in-process code, so no server is involved; coherence with
// Redis is near-cache.test.ts's subject.

const response = (body: string): CachedResponse => ({ body, etag: '"1"' })
/** What one entry counts for: its body, its ETag and its key. */
const size = (key: string, body: string) => body.length + '"1"'.length + key.length

t.test('past its byte bound, the least recently used entries go first', async (t) => {
  const reported: number[] = []
  const body = 'x'.repeat(100)
  const one = size('a', body)
  const store = createNearStore({ maxBytes: 2 * one, ttlMs: 60_000, onBytes: (bytes) => reported.push(bytes) })
  store.set('a', response(body), false)
  store.set('b', response(body), false)
  t.equal(store.get('a')?.body, body, 'a is read: now b is the least recently used')
  store.set('c', response(body), false)
  t.equal(store.size, 2, 'one entry went to make room')
  t.equal(store.get('b'), undefined, 'the least recently used one')
  t.equal(store.get('a')?.body, body, 'the one read since stays')
  t.equal(store.get('c')?.body, body, 'the new one is held')
  t.same(reported, [one, 2 * one, 2 * one], 'the bytes it holds never exceed the bound')
})

t.test('an entry larger than the whole bound is not stored, and evicts nothing', async (t) => {
  const store = createNearStore({ maxBytes: 200, ttlMs: 60_000, onBytes: () => {} })
  store.set('small', response('s'), false)
  store.set('large', response('x'.repeat(200)), false)
  t.equal(store.get('large'), undefined)
  t.equal(store.get('small')?.body, 's')
})

t.test('an entry past its ttl is not served, and goes', async (t) => {
  // ttlMs 0: an entry expires the moment it is stored (expiresAt is now, and `now >= expiresAt`).
  const expired = createNearStore({ maxBytes: 1000, ttlMs: 0, onBytes: () => {} })
  expired.set('a', response('old'), false)
  t.equal(expired.size, 1)
  t.equal(expired.get('a'), undefined, 'not served')
  t.equal(expired.size, 0, 'and removed')
  const live = createNearStore({ maxBytes: 1000, ttlMs: 60_000, onBytes: () => {} })
  live.set('a', response('fresh'), false)
  t.equal(live.get('a')?.body, 'fresh', 'within its ttl it is served')
})

t.test('drop removes the keys named, and every list page when asked', async (t) => {
  const reported: number[] = []
  const store = createNearStore({ maxBytes: 10_000, ttlMs: 60_000, onBytes: (bytes) => reported.push(bytes) })
  store.set('entity:1', response('one'), false)
  store.set('entity:2', response('two'), false)
  store.set('page:1', response('[one,two]'), true)
  store.drop(['entity:1'], false)
  t.equal(store.get('entity:1'), undefined)
  t.equal(store.get('page:1')?.body, '[one,two]', 'a list page stays unless asked')
  store.drop([], true)
  t.equal(store.get('page:1'), undefined, 'every list page goes')
  t.equal(store.get('entity:2')?.body, 'two', 'an entity not named stays')
  t.equal(reported.at(-1), size('entity:2', 'two'), 'the bytes reported are what is left')
  store.clear()
  t.equal(store.size, 0)
  t.equal(reported.at(-1), 0)
})
