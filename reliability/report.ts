import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { markdown } from './markdown.js'
import type { ReportInput } from './report-input.js'

/** Full form: reliability/REPORT.md and results.json; short form and soak alone: under dist/. */
export function writeReport (input: ReportInput): string[] {
  const { form, soakOnly } = input.options
  const dir = process.env.RELIABILITY_REPORT_DIR ??
    (soakOnly ? join('dist', 'reliability-soak') : form === 'full' ? 'reliability' : join('dist', 'reliability-report'))
  mkdirSync(dir, { recursive: true })
  const json = join(dir, 'results.json')
  writeFileSync(json, JSON.stringify(input, null, 2) + '\n')
  const md = join(dir, 'REPORT.md')
  writeFileSync(md, markdown(input))
  return [md, json]
}
