import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeAgents } from './http-client.js'
import { capacityOf, probeCapacity } from './capacity.js'
import { evaluate } from './evaluate.js'
import { LockWatch } from './lock-watch.js'
import { readOptions } from './options.js'
import { killAll } from './processes.js'
import { writeReport } from './report.js'
import { RequestLog } from './request-log.js'
import { runClusterScenario } from './cluster-scenario.js'
import { measureNearBound } from './near-bound.js'
import { runRollingRestart } from './rolling-restart.js'
import { runFaultScenario, seedAlone } from './scenario.js'
import { startServers } from './servers.js'
import { runSoak } from './soak.js'
import { Timeline } from './timeline.js'
import { through, Toxiproxy } from './toxiproxy.js'
import { Workload } from './workload.js'

// npm run test:reliability [-- --short]: the load + fault suite. Starts its own Redis, FerretDB
// and service processes, runs the faults under load and the soak, checks the request log
// against the database, writes the report, prints "N passed, N failed" and exits non-zero
// when a check fails.

const say = (line: string) => console.log(`[reliability] ${line}`)

async function main (): Promise<number> {
  const options = readOptions(process.argv.slice(2))
  const logDir = mkdtempSync(join(tmpdir(), 'flowops-reliability-'))
  const startedAt = new Date()
  say(`${options.form} form${options.soakOnly ? ', soak alone' : ''}; process logs in ${logDir}`)
  const servers = await startServers(logDir)
  // The instances reach both servers through Toxiproxy (for the connection faults); the suite's
  // own observers (the lock watch, the database check) connect directly.
  const toxiproxy = new Toxiproxy(logDir)
  await toxiproxy.start()
  const proxies = {
    redis: await toxiproxy.proxy('redis', `127.0.0.1:${servers.redis.port}`),
    mongo: await toxiproxy.proxy('mongodb', `127.0.0.1:${servers.mongo.port}`)
  }
  const env = {
    MONGODB_URL: through(servers.mongo.url, proxies.mongo),
    REDIS_URL: through(servers.redis.url, proxies.redis),
    CACHE_TTL_SECONDS: String(options.cacheTtlSeconds),
    LOCK_TTL_SECONDS: String(options.lockTtlSeconds),
    MONGODB_TIMEOUT_MS: String(options.mongodbTimeoutMs)
  }
  const log = new RequestLog()
  const timeline = new Timeline()
  const workload = new Workload()
  const watch = new LockWatch(servers.redis.url)
  watch.start()
  let failed = 1
  try {
    if (options.capacity) {
      const steps = await probeCapacity(options, env, logDir, workload, say)
      say(`capacity of this set-up: ${capacityOf(steps)} requests/s of the mixed workload answered in full`)
      failed = 0
      return 0
    }
    if (options.nearBoundOnly) {
      await measureNearBound(options, env, logDir, workload, log, timeline, say)
      failed = 0
      return 0
    }
    const run = options.soakOnly
      ? await seedAlone(options, env, logDir, workload, log, say)
      : await runFaultScenario(options, { ...servers, toxiproxy, proxies }, env, logDir, workload, log, timeline, say)
    const rolling = options.soakOnly ? { skipped: 0 } : await runRollingRestart(options, env, logDir, workload, log, timeline, say)
    const nearBound = options.soakOnly ? undefined : await measureNearBound(options, env, logDir, workload, log, timeline, say)
    say(`soak: ${options.soakSeconds} s on one instance`)
    const soak = await runSoak(options, env, logDir, workload, log, timeline)
    // Last: the Cluster is a cache of its own in front of the same database, so the writes made
    // through it leave the standalone Redis's entries behind (as any write that bypasses a
    // service's Redis would); nothing reads through that Redis after this.
    const cluster = options.soakOnly ? undefined : await runClusterScenario(options, env, logDir, workload, log, timeline, say)
    await watch.stop()
    writeFileSync(join(logDir, 'requests.jsonl'), log.entries.map((e) => JSON.stringify(e)).join('\n') + '\n')
    writeFileSync(join(logDir, 'timeline.json'), JSON.stringify(timeline.phases, null, 2))
    const evaluation = await evaluate(options, log, timeline, run.faults, watch, soak, servers.mongo.url, cluster, nearBound)
    const skipped = run.skipped + rolling.skipped + (cluster?.skipped ?? 0) + soak.skipped
    const paths = writeReport({ options, startedAt, evaluation, soak, skipped, requests: log.entries.length, ...(cluster ? { clusterPromotedAfterMs: cluster.promotedAfterMs } : {}), ...(nearBound ? { nearBound } : {}) })
    for (const c of evaluation.checks) say(`${c.passed ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`)
    say(`report: ${paths.join(', ')}`)
    failed = evaluation.checks.filter((c) => !c.passed).length
    console.log(`${evaluation.checks.length - failed} passed, ${failed} failed`)
  } finally {
    await watch.stop()
    closeAgents()
    await servers.redis.stop()
    await servers.mongo.stop()
    await toxiproxy.stop()
    killAll()
    if (failed === 0 && process.env.RELIABILITY_KEEP_LOGS !== '1') rmSync(logDir, { recursive: true, force: true })
    else say(`process logs and the request log kept in ${logDir}`)
  }
  return failed === 0 ? 0 : 1
}

// Ctrl-C or SIGTERM: no process of ours outlives the suite.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error('[reliability] run failed:', err)
  killAll()
  console.log('0 passed, 1 failed')
  process.exitCode = 1
})
