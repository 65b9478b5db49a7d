import t from 'tap'
import calculateSlot from 'cluster-key-slot'
import { clusterKeys, filledKeyOf, PARKED_SUFFIX, type EntityTarget } from '../../src/cache/keys.js'
import { COPY_SUFFIXES } from '../../src/cache/compressed-copies.js'
import { announcementKeys } from '../../src/cache/changes.js'
import { invalidationKeys } from '../../src/cache/scripts/bump-generations.js'

// Every key one script call touches must hash to one Redis Cluster slot, or the cluster refuses
// the call (CROSSSLOT) and the write fails closed. Each call's KEYS, as its script function sends
// them, are checked here with the keys the scripts derive from them (copies, parked pages, fill
// times); the cluster tests (test/topologies/) run them on a real cluster.

const ids = ['6b13f52f48147af3ab232d84', '000000000000000000000000', 'ffffffffffffffffffffffff', '0123456789abcdef01234567']
const slotsOf = (keys: string[]) => new Set(keys.map((key) => calculateSlot(key)))
/** What the scripts derive from an entity's entry key: its fill time and its copies. */
const derivedKeys = (entity: EntityTarget) => [filledKeyOf(entity.key), ...COPY_SUFFIXES.map((suffix) => entity.key + suffix)]

t.test('a change\'s announcement: each call in one slot, the entity\'s apart from the list groups\'', async (t) => {
  for (const id of ids) {
    const calls = clusterKeys.change(id)
    t.equal(calls.filter((call) => call.entity).length, 1, `${id}: one call retires the entity`)
    t.ok(calls.filter((call) => call.tracking).length > 1, `${id}: one call per list slot group`)
    for (const call of calls) {
      const keys = [...announcementKeys(id, call), ...call.entity ? derivedKeys(call.entity) : []]
      t.equal(slotsOf(keys).size, 1, `${id}: ${keys[0]} and the rest of its call share a slot`)
    }
  }
})

t.test('an invalidation: each call in one slot, pages, parked pages and copies included', async (t) => {
  const callKeys = (call: Parameters<typeof invalidationKeys>[0]) => [...invalidationKeys(call), ...call.entities.flatMap(({ target }) => derivedKeys(target))]
  const calls = clusterKeys.invalidation({ everyListPage: true, changed: ids.map((id) => ({ id, rewrite: null })) })
  for (const call of calls) t.equal(slotsOf(callKeys(call)).size, 1, `${callKeys(call)[0]} and the rest of its call share a slot`)
  // A page sits in its group's slot, with what the scripts make of its key.
  for (const page of [1, 2, 3, 4, 5, 9]) {
    const target = clusterKeys.listPage(page, 10)
    const keys = [target.key, target.generationKey, filledKeyOf(target.key), target.key + PARKED_SUFFIX,
      ...COPY_SUFFIXES.map((suffix) => target.key + suffix), target.tracking?.changeClock ?? '']
    t.equal(slotsOf(keys).size, 1, `page ${page}: its entry, generation, fill time, parked key, copies and change clock share a slot`)
  }
})
