import type { Evaluation } from './evaluate.js'
import type { NearBound } from './near-bound.js'
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
  /** The Cluster scenario: from the master's SIGKILL to its replica serving the slot. */
  clusterPromotedAfterMs?: number
  nearBound?: NearBound
}
