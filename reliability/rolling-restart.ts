import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/free-port.js'
import { LoadDriver } from './driver.js'
import type { Options } from './options.js'
import { spawnLogged, stopProcess } from './processes.js'
import type { RequestLog } from './request-log.js'
import { PROFILES, startService, untilAnswering, type ServiceEnv, type ServiceInstance } from './services.js'
import type { Timeline } from './timeline.js'
import type { Workload } from './workload.js'

// A rolling restart behind the `scale` compose profile's own nginx config
// (deploy/nginx/scale.conf, its upstreams pointed at loopback ports), with nginx from Debian's
// packages: the load goes through nginx while each instance in turn gets SIGTERM (it drains:
// plugins/app/drain-on-close.ts) and is started again on its port, as an orchestrator does.
// The promise: zero client errors. nginx retries a refused connect on another instance, and
// never retries a POST, so a POST the draining instance dropped would show as an error.

const SCALE_CONF = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'nginx', 'scale.conf')
export const ROLLING_BASELINE = 'rolling restart: before'
export const rollingPhase = (name: string) => `rolling restart: ${name}`
/** After an instance is back, before the next one goes: nginx's failed-upstream window is 5 s (fail_timeout). */
const SETTLE_SECONDS = 2

/** The scale profile's config with its upstreams and listen address on loopback. */
function nginxConfig (dir: string, ports: number[], listen: number): string {
  let site = readFileSync(SCALE_CONF, 'utf8')
  ports.forEach((port, i) => { site = site.replace(`order-service-${i + 1}:5001`, `127.0.0.1:${port}`) })
  if (/order-service-\d:5001/.test(site) || !site.includes('listen 80;')) throw new Error(`${SCALE_CONF}: not the layout this scenario rewrites`)
  site = site.replace('listen 80;', `listen 127.0.0.1:${listen};`)
  writeFileSync(join(dir, 'site.conf'), site)
  const main = join(dir, 'nginx.conf')
  writeFileSync(main, [
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    `  include ${join(dir, 'site.conf')};`,
    '}',
    ''
  ].join('\n'))
  return main
}

export async function runRollingRestart (options: Options, env: ServiceEnv, logDir: string, workload: Workload, log: RequestLog,
  timeline: Timeline, say: (line: string) => void): Promise<{ skipped: number }> {
  const dir = join(logDir, 'nginx')
  mkdirSync(dir, { recursive: true })
  const instances: ServiceInstance[] = await Promise.all(PROFILES.map((p) => startService(`rolling-${p.name}`, { ...env, ...p.env }, logDir)))
  const ports = instances.map((i) => Number(new URL(i.url).port))
  const listen = await freePort()
  const nginx = spawnLogged({ name: 'nginx', command: process.env.NGINX_BIN ?? 'nginx', args: ['-c', nginxConfig(dir, ports, listen), '-p', dir, '-g', 'daemon off;'], logDir })
  const url = `http://127.0.0.1:${listen}`
  const driver = new LoadDriver({ urls: [url], rate: options.rate, maxInFlight: options.maxInFlight, timeoutMs: options.clientTimeoutMs }, workload, log)
  try {
    await untilAnswering(url, { child: nginx, withinSeconds: 30 })
    say(`rolling restart: ${instances.length} instances behind nginx (deploy/nginx/scale.conf) at ${url}`)
    driver.start()
    timeline.enter(ROLLING_BASELINE)
    await delay(SETTLE_SECONDS * 1000)
    for (const [i, profile] of PROFILES.entries()) {
      timeline.enter(rollingPhase(profile.name))
      await (instances[i] as ServiceInstance).stop('SIGTERM')
      instances[i] = await startService(`rolling-${profile.name}`, { ...env, ...profile.env }, logDir, ports[i])
      await delay(SETTLE_SECONDS * 1000)
    }
    timeline.close()
    await driver.stop()
    return { skipped: driver.skipped }
  } finally {
    await driver.stop()
    await stopProcess(nginx, 'SIGQUIT') // nginx's graceful stop
    await Promise.all(instances.map((i) => i.stop()))
  }
}
