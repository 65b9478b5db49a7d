import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Evaluation } from './evaluate.js'
import { markdown } from './markdown.js'
import type { Options } from './options.js'
import type { SoakResult } from './soak.js'

export interface ReportInput {
  options: Options
  startedAt: Date
  evaluation: Evaluation
  soak: SoakResult
  skipped: number
  requests: number
}

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
