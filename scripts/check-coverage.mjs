// Fails the test run when coverage drops below honest thresholds. tap itself only knows
// "100% or not"; these numbers are what the suite really reaches, with a little slack.
// Coverage is product code only (src/, plugins/, routes/; see test/coverage-map.mjs): the
// totals are checked, and every file under src/cache and src/lock on its own, so a well-covered
// module elsewhere cannot hide a poorly tested one in the cache or the lock.
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { execFileSync } from 'node:child_process'
import ts from 'typescript'

const TOTALS = { lines: 95, statements: 95, functions: 95, branches: 85 }
const PER_FILE = { lines: 95, branches: 90 }
const PER_FILE_DIRS = ['src/cache/', 'src/lock/']
const PRODUCT = /^(src|plugins|routes)\//

const root = process.cwd()
const summary = JSON.parse(readFileSync(resolve(root, '.tap/report/coverage-summary.json'), 'utf8'))
const files = new Map(Object.entries(summary)
  .filter(([file]) => file !== 'total')
  .map(([file, figures]) => [relative(root, file), figures]))
const failures = []

// The coverage map must be in effect: a test helper or reliability/ file in the report means
// the totals below are not product-only.
for (const file of files.keys()) {
  if (!PRODUCT.test(file)) failures.push(`${file} is not product code but is in the coverage report`)
}

const total = summary.total
for (const [metric, minimum] of Object.entries(TOTALS)) {
  if (total[metric].pct < minimum) failures.push(`total ${metric} ${total[metric].pct}% < ${minimum}%`)
}
console.log('coverage (product code): ' + Object.keys(TOTALS).map((m) => `${m} ${total[m].pct}%`).join(', '))

// A file no test loads is absent from the report instead of at 0%: under src/cache and src/lock,
// only a file with no runtime code (types only) may be absent.
const tracked = execFileSync('git', ['ls-files', '--', ...PER_FILE_DIRS], { cwd: root, encoding: 'utf8' })
  .split('\n').filter((file) => file.endsWith('.ts'))
const typesOnly = (file) => ts.transpileModule(readFileSync(resolve(root, file), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, removeComments: true }
}).outputText.replace(/export \{\};?/g, '').trim() === ''

const rows = []
for (const file of tracked) {
  const figures = files.get(file)
  if (figures === undefined) {
    if (!typesOnly(file)) failures.push(`${file} has runtime code but no test loads it`)
    continue
  }
  const low = Object.entries(PER_FILE).filter(([metric, minimum]) => figures[metric].pct < minimum)
  for (const [metric, minimum] of low) failures.push(`${file} ${metric} ${figures[metric].pct}% < ${minimum}%`)
  rows.push(`  ${file.padEnd(44)} lines ${String(figures.lines.pct).padStart(6)}%  branches ${String(figures.branches.pct).padStart(6)}%${low.length > 0 ? '  BELOW' : ''}`)
}
console.log(`per file (floors: lines ${PER_FILE.lines}%, branches ${PER_FILE.branches}%):\n${rows.join('\n')}`)

if (failures.length > 0) {
  console.error(`coverage below threshold:\n  ${failures.join('\n  ')}`)
  process.exit(1)
}
