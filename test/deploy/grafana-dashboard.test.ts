import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build, createOrder } from '../helper.js'
import { sampleNames } from '../metrics-text.js'

// No Grafana or Prometheus runs here: the dashboard is checked against what a running app
// exports. Every metric its PromQL reads must be a sample name GET /metrics serves.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8')

interface Target { expr: string, datasource?: { uid?: string } }
interface Panel { id: number, type: string, title: string, targets?: Target[], datasource?: { uid?: string }, gridPos: { x: number, y: number, w: number, h: number } }
interface Dashboard {
  uid: string
  panels: Panel[]
  templating: { list: Array<{ name: string, type: string, definition?: string }> }
}

// Panels query whichever Prometheus the $datasource variable names, not a hard-coded uid.
const DATASOURCE_VARIABLE = '$' + '{datasource}'

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])

/** The metric names a PromQL expression reads: identifiers that are not functions, labels or keywords. */
function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values and strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors, [$__rate_interval]
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\$\{?\w+\}?/g, '') // dashboard variables
    .replace(/(?<![\w.])\d+(\.\d+)?(e[+-]?\d+)?/gi, '') // numbers, 1e-9 included
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((match) => match[2] === undefined && !PROMQL_WORDS.has(match[1] as string))
    .map((match) => match[1] as string)
}

t.test('the PromQL reader finds metric names and nothing else', async (t) => {
  t.same(metricNames('histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{instance=~"$instance",x="y z"}[$__rate_interval])))'), ['a_bucket'])
  t.same(metricNames('sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])) + max(c{d="e"}), 1e-9)'), ['a_total', 'b_total', 'c'])
})

t.test('every metric the dashboard queries is exported by GET /metrics', async (t) => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/order-service.json')) as Dashboard
  t.equal(dashboard.uid, 'flowops-order-service')

  // A running app after the traffic the panels graph: requests, a cache miss and hit, a PUT
  // under the lock; histograms with labels only show series once observed.
  const app = await build(t)
  const order = await createOrder(app)
  await app.inject('/orders')
  await app.inject('/orders')
  await app.inject({ method: 'PUT', url: `/orders/${order._id}`, payload: { customer: 'Dashboard Check' } })
  const exported = sampleNames((await app.inject('/metrics')).body)

  const queried = new Map<string, string[]>()
  const note = (name: string, where: string) => queried.set(name, [...(queried.get(name) ?? []), where])
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row')
  for (const panel of panels) {
    t.ok(panel.targets && panel.targets.length > 0, `"${panel.title}" has queries`)
    t.equal(panel.datasource?.uid, DATASOURCE_VARIABLE, `"${panel.title}" uses the data source variable`)
    for (const target of panel.targets ?? []) {
      const names = metricNames(target.expr)
      t.ok(names.length > 0, `"${panel.title}": ${target.expr} reads a metric`)
      for (const name of names) note(name, panel.title)
    }
  }
  for (const variable of dashboard.templating.list) {
    const match = /^label_values\((\w+),\s*\w+\)$/.exec(variable.definition ?? '')
    if (match) note(match[1] as string, `variable $${variable.name}`)
  }

  t.ok(queried.size >= 20, `${queried.size} distinct metrics queried`)
  for (const [name, where] of queried) {
    t.ok(name.startsWith('flowops_order_service_'), `${name} is one of the service's metrics`)
    t.ok(exported.has(name), `${name} (${[...new Set(where)].join(', ')}) is exported`)
  }

  const topics = ['cache_hits_total', 'http_request_duration_seconds_bucket', 'lock_contended_total', 'redis_errors_total', 'mongodb_errors_total', 'cache_breaker_state']
  for (const topic of topics) t.ok(queried.has(`flowops_order_service_${topic}`), `the dashboard graphs ${topic}`)

  t.equal(new Set(dashboard.panels.map((panel) => panel.id)).size, dashboard.panels.length, 'panel ids are unique')
  t.ok(dashboard.panels.every((panel) => panel.gridPos.x + panel.gridPos.w <= 24), 'panels fit the 24-column grid')
})

t.test('Grafana provisions the dashboard from where docker-compose mounts it', async (t) => {
  const provisioning = read('deploy/grafana/provisioning/dashboards/order-service.yml')
  const path = /^\s*path:\s*(\S+)\s*$/m.exec(provisioning)?.[1]
  t.ok(path, 'the provider names a path')
  const compose = read('docker-compose.yml')
  t.match(compose, new RegExp(`- \\./deploy/grafana/dashboards:${path}:ro`), 'the monitoring profile mounts the dashboards there')
  t.match(compose, /- \.\/deploy\/grafana\/provisioning:\/etc\/grafana\/provisioning:ro/, 'and the provisioning directory')
})
