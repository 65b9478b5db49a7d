// npm run test:mutants: each guarantee's test must fail when the code behind it is broken.
// Applies each mutant below to the working tree in turn (a textual edit of product code, or of
// the reliability suite's oracle), runs the test files that must kill it, and puts the file
// back. Prints KILLED or SURVIVED per mutant and exits 1 if any survived (or no longer applies).
// Run through scripts/mutants.sh, which starts the servers as npm test does.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

const MUTANTS = [
  {
    name: 'no cache hit while an invalidation is owed: the owed check removed from the read path',
    edits: [['src/cache/read-through.ts', 'config.CACHE_ENABLED && !delivery.owed && ', 'config.CACHE_ENABLED && ']],
    tests: ['test/faults/redis-out-of-memory.test.ts', 'test/faults/redis-outage.test.ts', 'test/faults/cross-instance-freeze.test.ts']
  },
  {
    name: 'an entity invalidation queued while Redis is down is dropped (only a list bump kept)',
    edits: [['src/cache/invalidator.ts', "      if (redis.status !== 'ready') {\n        delivery.owed = true",
      "      if (redis.status !== 'ready') {\n        ordersPending.clear(); tokensPending.clear(); listsPending = true\n        delivery.owed = true"]],
    tests: ['test/faults/lock-fallback.test.ts']
  },
  {
    name: 'the gzip copy (every suffix after the first) kept by the invalidation script',
    edits: [['src/cache/scripts/bump-generations.ts', 'for s = 1, suffixCount do', 'for s = 1, math.min(1, suffixCount) do']],
    tests: ['test/cache/compression.test.ts', 'test/cache/copy-codings.test.ts']
  },
  {
    name: 'the gzip copy kept by both the announcement (its pages\' and its entry\'s) and the invalidation',
    edits: [['src/cache/scripts/bump-generations.ts', 'for s = 1, suffixCount do', 'for s = 1, math.min(1, suffixCount) do'],
      ['src/cache/changes.ts', 'for s = 1, suffixes do', 'for s = 1, math.min(1, suffixes) do']],
    tests: ['test/cache/compression.test.ts']
  },
  {
    name: 'a deleted page keeps its copies (dropped only for pages rewritten in place, none at the announcement)',
    edits: [['src/cache/scripts/bump-generations.ts', '      dropCompressedCopies(page)\n      if replaced then', '      if replaced then\n        dropCompressedCopies(page)'],
      ['src/cache/changes.ts', '    dropCopies(page)\n', '']],
    tests: ['test/cache/compression.test.ts']
  },
  {
    name: 'the order\'s own copies kept (no copy deletion for its entry, at the announcement or the invalidation)',
    edits: [['src/cache/changes.ts', '  dropCopies(KEYS[e + 1])\n', ''],
      ['src/cache/scripts/bump-generations.ts', '  dropCompressedCopies(KEYS[j + 1])\n', '']],
    tests: ['test/cache/compression.test.ts']
  },
  {
    name: 'the SHA-1 guard removed from the compressed-copy fill',
    edits: [['src/cache/scripts/fill-compressed-copy.ts', 'if not entry or redis.sha1hex(entry) ~= ARGV[1] then return 0 end', 'if not entry then return 0 end']],
    tests: ['test/cache/compression.test.ts']
  },
  {
    name: 'the near store\'s epoch check removed',
    edits: [['src/cache/near/near-tier.ts', 'if (notedEpoch === epoch && bus.alive())', 'if (bus.alive())']],
    tests: ['test/cache/near-races.test.ts']
  },
  {
    name: 'the near lease not checked: a near hit served while its invalidation connection has not answered a PING within the lease',
    edits: [['src/cache/near/near-tier.ts', 'bus.alive() && (caughtUp || bus.leased(performance.now())) ? store.get(key)', 'bus.alive() ? store.get(key)']],
    tests: ['test/cache/near-lease.test.ts']
  },
  {
    name: 'a read past the near lease served the near copy without waiting for a PING of its own',
    edits: [['src/cache/near/subscriber.ts', '      if (!subscribed || !alive) return Promise.resolve(false)\n', '      if (!subscribed || !alive) return Promise.resolve(false)\n      if (leaseMs > 0) return Promise.resolve(true)\n']],
    tests: ['test/cache/near-lease.test.ts']
  },
  {
    name: 'the writer does not wait out the near lease after a message near tiers received',
    edits: [['src/cache/near/write-settle.ts', 'wait > 0; wait = end - performance.now()) await sleep(Math.ceil(wait))', 'wait > 0; wait = 0) void sleep']],
    tests: ['test/cache/write-settle.test.ts', 'test/cache/near-lease.test.ts']
  },
  {
    name: 'a Cluster lookup written straight to a master that answers with a redirection is not sent again through the Cluster client',
    edits: [['src/cache/entry-reader.ts', 'owner.mgetBuffer(keys).then(copyOut, routed)', 'owner.mgetBuffer(keys).then(copyOut)']],
    tests: ['test/topologies/redis-cluster-direct-lookup.test.ts']
  },
  {
    name: 'two changes delivered together: only the later rewrite kept (no chaining)',
    edits: [['src/cache/invalidator.ts', 'return earlier && later && earlier.to === later.from ? { from: earlier.from, to: later.to } : null', 'return later']],
    tests: ['test/cache/chained-rewrites.test.ts']
  },
  {
    name: 'the lock released by anyone: the compare-and-delete no longer compares the token',
    edits: [['src/lock/lock-release.ts', "if redis.call('GET', KEYS[1]) == ARGV[1] then", "if redis.call('GET', KEYS[1]) then"]],
    tests: ['test/plugins/lock.test.ts']
  },
  {
    name: 'a landed lock release not sent again when the Cluster\'s nodes change (a master died with it)',
    edits: [['src/lock/lock-release.ts', "  redis.on('+node', reReleaseRecent)\n  redis.on('-node', reReleaseRecent)\n", '']],
    tests: ['test/topologies/orphan-lock.test.ts']
  },
  {
    name: 'a landed lock release not sent again when the client reconnects (Sentinel: to the promoted master)',
    edits: [['src/lock/lock-release.ts', "  redis.on('ready', reReleaseRecent)\n", '']],
    tests: ['test/topologies/orphan-lock.test.ts']
  },
  {
    name: 'the fence removed: the update no longer requires the version the writer read',
    edits: [['src/orders/repository.ts', '{ _id: new ObjectId(id), version: expectedVersion },', '{ _id: new ObjectId(id) },']],
    tests: ['test/plugins/lock.test.ts']
  },
  {
    name: 'a fill accepted though the generation moved since the filler looked',
    edits: [['src/cache/scripts/fill-if-generation.ts', 'elseif current ~= ARGV[1] then\n  return 0\nend', 'end']],
    tests: ['test/cache/eager-refresh.test.ts']
  },
  {
    name: 'a list page filled though an order on it changed after the filler noted the change clock',
    edits: [['src/cache/scripts/fill-if-generation.ts', '  if changed and tonumber(changed) > noted then return 0 end\n', '']],
    tests: ['test/cache/affected-pages.test.ts']
  },
  {
    name: 'an entity filled while a change of it is under way (its change marker ignored)',
    edits: [['src/cache/scripts/fill-if-generation.ts', "  if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n", '']],
    tests: ['test/cache/change-marker.test.ts']
  },
  {
    name: 'reliability oracle: a first list page missing a newer acknowledged order is not judged',
    edits: [['reliability/checks/stale-reads.ts', '      if (shown.has(post.order?._id as string)) continue', '      continue']],
    tests: ['test/reliability/oracles.test.ts']
  },
  {
    name: 'a write\'s answer no longer waits for near tiers\' leases (the invalidator does not call the wait)',
    edits: [['src/cache/invalidator.ts', '      await settle.settled()\n', '']],
    tests: ['test/cache/near-lease.test.ts']
  },
  {
    name: 'a change made without the lock (not announced) is not invalidated though it wrote',
    edits: [['routes/orders/write.ts', 'if (!announced && !mayHaveWritten(reply.statusCode, payload)) return undefined', 'if (!announced) return undefined']],
    tests: ['test/faults/lock-fallback.test.ts']
  },
  {
    name: 'reliability oracle: a 5xx answered during the baseline is not judged',
    edits: [['reliability/checks/outage.ts', '  const bad = judged.filter(isServerError)\n', '  const bad = judged.filter(() => false)\n']],
    tests: ['test/reliability/oracles.test.ts']
  },
  {
    name: 'a write\'s lease wait follows later writes\' messages (a steady stream of them holds its answer)',
    edits: [['src/cache/near/write-settle.ts', 'for (let wait = end - performance.now(); wait > 0; wait = end - performance.now())',
      'for (let wait = until - performance.now(); wait > 0; wait = until - performance.now())']],
    tests: ['test/cache/write-settle.test.ts']
  }
]

// MUTANTS=3,15 runs only those (numbered from 1, as printed).
const only = process.env.MUTANTS ? new Set(process.env.MUTANTS.split(',').map(Number)) : undefined
let failed = 0
let ran = 0
for (const [i, mutant] of MUTANTS.entries()) {
  if (only && !only.has(i + 1)) continue
  ran++
  const originals = new Map()
  let applies = true
  for (const [file, from, to] of mutant.edits) {
    if (!originals.has(file)) originals.set(file, readFileSync(file, 'utf8'))
    const text = readFileSync(file, 'utf8')
    if (text.split(from).length !== 2) { applies = false; break }
    writeFileSync(file, text.replace(from, to))
  }
  try {
    if (!applies) {
      failed++
      console.log(`[${i + 1}] ${mutant.name}: NO LONGER APPLIES (the code it edits changed: update scripts/mutants.mjs)`)
      continue
    }
    const run = spawnSync('npx', ['tap', ...mutant.tests, '--disable-coverage', '-R', 'tap'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    const killedBy = (run.stdout ?? '').split('\n').filter((line) => /^\s+not ok \d+ - /.test(line) && !/# time=/.test(line)).slice(0, 3).map((line) => line.trim())
    if (run.status === 0) failed++
    console.log(`[${i + 1}] ${mutant.name}: ${run.status === 0 ? 'SURVIVED' : 'KILLED'}`)
    for (const line of killedBy) console.log(`      ${line}`)
  } finally {
    for (const [file, text] of originals) writeFileSync(file, text)
  }
}
console.log(`${ran - failed} of ${ran} mutants killed`)
process.exitCode = failed === 0 ? 0 : 1
