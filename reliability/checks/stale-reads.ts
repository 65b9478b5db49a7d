import { isOk, type LogEntry } from '../request-log.js'
import type { Timeline } from '../timeline.js'
import { check, examples, type Check } from './check.js'

// No GET shows data older than the last acknowledged write to it: for every 200 GET (one order
// or a list page) and every order it shows, the version shown is at least the highest version
// acknowledged (201, or 2xx PUT/DELETE) before the GET was sent. A 404 for an order whose 201
// came before the GET is stale too.

type Acks = Map<string, LogEntry[]> // id -> the writes that acknowledged a version of it, by doneAt

function acknowledged (entries: LogEntry[]): Acks {
  const acks: Acks = new Map()
  for (const entry of entries) {
    if (!isOk(entry) || !entry.order || entry.kind === 'get' || entry.kind === 'list') continue
    let list = acks.get(entry.order._id)
    if (!list) acks.set(entry.order._id, list = [])
    list.push(entry)
  }
  for (const list of acks.values()) list.sort((a, b) => a.doneAt - b.doneAt)
  return acks
}

/** The write that acknowledged the highest version before `at`, if any. */
function ackedBefore (acks: Acks, id: string, at: number): LogEntry | undefined {
  let best: LogEntry | undefined
  for (const write of acks.get(id) ?? []) {
    if (write.doneAt >= at) break
    if (!best || (write.order?.version ?? 0) > (best.order?.version ?? 0)) best = write
  }
  return best
}

export interface StaleRead {
  seq: number
  phase: string
  path: string
  id: string
  shown: number
  acked: number
  /** The write that acknowledged `acked`: its instance and when its answer came. */
  ack: { seq: number, instance: number, doneAt: number }
  /** How long after that acknowledgement the stale read was sent, in ms. */
  lagMs: number
  /** The instance that served the stale read, and how (X-Cache). */
  instance: number
  cache?: string
}

export function staleReads (entries: LogEntry[], timeline: Timeline): StaleRead[] {
  const acks = acknowledged(entries)
  const stale: StaleRead[] = []
  for (const entry of entries) {
    if (entry.method !== 'GET') continue
    const shown: Array<[string, number]> = entry.listed ?? (entry.order ? [[entry.order._id, entry.order.version]] : [])
    if (entry.status === 404 && entry.orderId) shown.push([entry.orderId, 0])
    for (const [id, version] of shown) {
      const write = ackedBefore(acks, id, entry.sentAt)
      const acked = write?.order?.version ?? 0
      if (write && version < acked) {
        stale.push({
          seq: entry.seq,
          phase: timeline.phaseAt(entry.sentAt),
          path: entry.path,
          id,
          shown: version,
          acked,
          ack: { seq: write.seq, instance: write.instance, doneAt: write.doneAt },
          lagMs: Math.round((entry.sentAt - write.doneAt) * 10) / 10,
          instance: entry.instance,
          ...(entry.cache ? { cache: entry.cache } : {})
        })
      }
    }
  }
  return stale
}

// Created orders are listed newest first (createdAt, then _id). So the first page, read after
// order Y's 201, must show Y if it shows an order X whose 201 came before Y's POST was sent
// (Y is newer than X, so it sorts before it). A margin of 2 ms keeps two orders created in the
// same millisecond (tied on createdAt, then ordered by _id) out of the judgement. A list page
// whose generation was not moved by a POST passes the version check above (every order it shows
// is current); this one catches it.
const SAME_MILLISECOND_MS = 2

export interface MissingFromFirstPage { seq: number, phase: string, path: string, missing: string, createdAckAt: number, lagMs: number }

export function missingFromFirstPage (entries: LogEntry[], timeline: Timeline): MissingFromFirstPage[] {
  const created = entries.filter((e) => e.kind === 'create' && e.status === 201 && e.order).sort((a, b) => a.doneAt - b.doneAt)
  const creation = new Map(created.map((e) => [e.order?._id as string, e]))
  const missing: MissingFromFirstPage[] = []
  for (const entry of entries) {
    if (entry.kind !== 'list' || !entry.listed || !/[?&]page=1(&|$)/.test(entry.path)) continue
    const shown = new Set(entry.listed.map(([id]) => id))
    // The earliest-acknowledged order it shows whose creation the log knows.
    const shownCreations = entry.listed.map(([id]) => creation.get(id)).filter((e): e is LogEntry => e !== undefined)
    if (shownCreations.length === 0) continue
    const oldestShownAckAt = Math.min(...shownCreations.map((e) => e.doneAt))
    for (const post of created) {
      if (post.doneAt >= entry.sentAt) break
      if (shown.has(post.order?._id as string)) continue
      if (post.sentAt > oldestShownAckAt + SAME_MILLISECOND_MS) {
        missing.push({ seq: entry.seq, phase: timeline.phaseAt(entry.sentAt), path: entry.path, missing: post.order?._id as string, createdAckAt: post.doneAt, lagMs: Math.round(entry.sentAt - post.doneAt) })
      }
    }
  }
  return missing
}

/**
 * One check per group of phases (e.g. a fault's outage and recovery), and one for the run.
 * `allowed` sets apart the stale reads the README's failure table allows (after a write made
 * without the lock under LOCK_FALLBACK=optimistic); they are counted, and checked by their own rule.
 */
export function staleReadChecks (entries: LogEntry[], timeline: Timeline, groups: Array<{ name: string, phases: string[] }>,
  allowed: (read: StaleRead) => boolean = () => false): Check[] {
  const stale = staleReads(entries, timeline).filter((read) => !allowed(read))
  const missing = missingFromFirstPage(entries, timeline)
  const firstPages = entries.filter((e) => e.kind === 'list' && e.listed && /[?&]page=1(&|$)/.test(e.path)).length
  const gets = entries.filter((entry) => entry.method === 'GET' && isOk(entry)).length
  const describe = (list: StaleRead[]) =>
    examples(list.map((s) => `#${s.seq} ${s.path} (${s.phase}) showed ${s.id} at version ${s.shown} after version ${s.acked} was acknowledged`))
  return [
    ...groups.map(({ name, phases }) => {
      const inGroup = stale.filter((s) => phases.includes(s.phase))
      const count = phases.reduce((sum, phase) => sum + timeline.entriesOf(entries, phase).filter((e) => e.method === 'GET').length, 0)
      return check(`${name}: no GET older than the last acknowledged write`, inGroup.length === 0,
        `${count} GETs, ${inGroup.length} stale${describe(inGroup)}`)
    }),
    check('whole run: no GET older than the last acknowledged write', stale.length === 0,
      `${gets} successful GETs, ${stale.length} stale${describe(stale)}`),
    check('whole run: no first list page without an order created (201) before it was read', missing.length === 0,
      `${firstPages} first pages read; ${missing.length} missed a newer order acknowledged before they were sent` +
      examples(missing.map((m) => `#${m.seq} ${m.path} (${m.phase}) without ${m.missing}, created ${m.lagMs} ms before`)))
  ]
}
