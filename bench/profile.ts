import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

// Reads the .cpuprofile that `node --cpu-prof` wrote on exit and returns the functions with the
// most self time, so the report can name where a cache hit actually spends its CPU.

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

export interface HotFunction {
  name: string
  where: string
  selfPercent: number
}

export async function topFunctions (dir: string, count = 12): Promise<HotFunction[]> {
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
  if (!file) return []
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nodes: ProfileNode[] }
  const self = new Map<string, { name: string, where: string, hits: number }>()
  // Percentages of busy time: idle samples (waiting for I/O) are left out of the total.
  let total = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    total += hits
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}:${lineNumber + 1}` : ''
    const key = `${functionName}@${where}`
    const entry = self.get(key) ?? { name: functionName || '(anonymous)', where, hits: 0 }
    entry.hits += hits
    self.set(key, entry)
  }
  return [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, count)
    .map((entry) => ({ name: entry.name, where: entry.where, selfPercent: (100 * entry.hits) / Math.max(total, 1) }))
}
