import { isOk, type LogEntry } from '../request-log.js'
import type { Timeline } from '../timeline.js'
import { check, examples, type Check } from './check.js'

// No GET shows data older than the last acknowledged write to it: for every 200 GET (one order
// or a list page) and every order it shows, the version shown is at least the highest version
// acknowledged (201, or 2xx PUT/DELETE) before the GET was sent. A 404 for an order whose 201
// came before the GET is stale too.

type Acks = Map<string, Array<[number, number]>> // id -> [doneAt, version], by doneAt

function acknowledged (entries: LogEntry[]): Acks {
  const acks: Acks = new Map()
  for (const entry of entries) {
    if (!isOk(entry) || !entry.order || entry.kind === 'get' || entry.kind === 'list') continue
    let list = acks.get(entry.order._id)
    if (!list) acks.set(entry.order._id, list = [])
    list.push([entry.doneAt, entry.order.version])
  }
  for (const list of acks.values()) list.sort((a, b) => a[0] - b[0])
  return acks
}

/** Highest version acknowledged before `at`, 0 if none. */
function ackedBefore (acks: Acks, id: string, at: number): number {
  let best = 0
  for (const [doneAt, version] of acks.get(id) ?? []) {
    if (doneAt >= at) break
    best = Math.max(best, version)
  }
  return best
}

export interface StaleRead { seq: number, phase: string, path: string, id: string, shown: number, acked: number }

export function staleReads (entries: LogEntry[], timeline: Timeline): StaleRead[] {
  const acks = acknowledged(entries)
  const stale: StaleRead[] = []
  for (const entry of entries) {
    if (entry.method !== 'GET') continue
    const shown: Array<[string, number]> = entry.listed ?? (entry.order ? [[entry.order._id, entry.order.version]] : [])
    if (entry.status === 404 && entry.orderId) shown.push([entry.orderId, 0])
    for (const [id, version] of shown) {
      const acked = ackedBefore(acks, id, entry.sentAt)
      if (version < acked) stale.push({ seq: entry.seq, phase: timeline.phaseAt(entry.sentAt), path: entry.path, id, shown: version, acked })
    }
  }
  return stale
}

/** One check per group of phases (e.g. a fault's outage and recovery), and one for the run. */
export function staleReadChecks (entries: LogEntry[], timeline: Timeline, groups: Array<{ name: string, phases: string[] }>): Check[] {
  const stale = staleReads(entries, timeline)
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
      `${gets} successful GETs, ${stale.length} stale${describe(stale)}`)
  ]
}
