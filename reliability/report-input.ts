import type { Evaluation } from './evaluate.js'
import type { Options } from './options.js'
import type { SoakResult } from './soak.js'

/** What one run reports: written as results.json (report.ts) and rendered as REPORT.md (markdown.ts). */
export interface ReportInput {
  options: Options
  startedAt: Date
  evaluation: Evaluation
  soak: SoakResult
  skipped: number
  requests: number
}
