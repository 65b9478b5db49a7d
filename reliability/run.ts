import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeAgents } from './http-client.js'
import { evaluate } from './evaluate.js'
import { LockWatch } from './lock-watch.js'
import { readOptions } from './options.js'
import { killAll } from './processes.js'
import { writeReport } from './report.js'
import { RequestLog } from './request-log.js'
import { runFaultScenario, seedAlone } from './scenario.js'
import { startServers } from './servers.js'
import { runSoak } from './soak.js'
import { Timeline } from './timeline.js'
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
  const env = {
    MONGODB_URL: servers.mongo.url,
    REDIS_URL: servers.redis.url,
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
    const run = options.soakOnly
      ? await seedAlone(options, env, logDir, workload, log, say)
      : await runFaultScenario(options, servers, env, logDir, workload, log, timeline, say)
    say(`soak: ${options.soakSeconds} s on one instance`)
    const soak = await runSoak(options, env, logDir, workload, log, timeline)
    await watch.stop()
    writeFileSync(join(logDir, 'requests.jsonl'), log.entries.map((e) => JSON.stringify(e)).join('\n') + '\n')
    writeFileSync(join(logDir, 'timeline.json'), JSON.stringify(timeline.phases, null, 2))
    const evaluation = await evaluate(options, log, timeline, run.faults, watch, soak, servers.mongo.url)
    const paths = writeReport({ options, startedAt, evaluation, soak, skipped: run.skipped + soak.skipped, requests: log.entries.length })
    for (const c of evaluation.checks) say(`${c.passed ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`)
    say(`report: ${paths.join(', ')}`)
    failed = evaluation.checks.filter((c) => !c.passed).length
    console.log(`${evaluation.checks.length - failed} passed, ${failed} failed`)
  } finally {
    await watch.stop()
    closeAgents()
    await servers.redis.stop()
    await servers.mongo.stop()
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
