// Fails the test run when coverage drops below honest thresholds. tap itself only knows
// "100% or not"; these numbers are what the suite really reaches, with a little slack.
import { readFileSync } from 'node:fs'

const THRESHOLDS = { lines: 95, statements: 95, functions: 95, branches: 85 }

const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8')).total
const failures = Object.entries(THRESHOLDS)
  .filter(([metric, minimum]) => summary[metric].pct < minimum)
  .map(([metric, minimum]) => `${metric} ${summary[metric].pct}% < ${minimum}%`)

console.log('coverage: ' + Object.keys(THRESHOLDS).map((m) => `${m} ${summary[m].pct}%`).join(', '))
if (failures.length > 0) {
  console.error(`coverage below threshold: ${failures.join(', ')}`)
  process.exit(1)
}
