import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

// Reads the .cpuprofile that `node --cpu-prof` wrote on exit and says where the busy time of
// the load went: the functions with the most self time, and the same time by package, in
// microseconds per request. Only the last `windowSeconds` of the profile count: the process
// was idle or starting up (loading modules, compiling schemas) before the load began.

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface HotFunction {
  name: string
  where: string
  selfPercent: number
}

export interface PackageCost {
  name: string
  microsPerRequest: number
}

export interface HotPath {
  functions: HotFunction[]
  packages: PackageCost[]
}

// Samples not spent running JavaScript or native code for a request.
const NOT_BUSY = new Set(['(idle)', '(root)'])

/** node_modules/<package>, node's own modules, our files, or the VM's pseudo-frames. */
function packageOf (frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inModules) return inModules[1] ?? url
  if (url.startsWith('node:')) return 'node (JavaScript core)'
  if (url) return 'this service'
  return functionName.startsWith('(') ? functionName : 'native (syscalls, V8 builtins)'
}

export async function hotPath (dir: string, windowSeconds: number, requests: number, count = 12): Promise<HotPath> {
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
  if (!file) return { functions: [], packages: [] }
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))

  // Microseconds of self time per node, over the trailing window only.
  const micros = new Map<number, number>()
  let elapsed = 0
  for (let i = profile.samples.length - 1; i >= 0 && elapsed < windowSeconds * 1e6; i--) {
    const delta = profile.timeDeltas[i] ?? 0
    elapsed += delta
    const id = profile.samples[i] as number
    micros.set(id, (micros.get(id) ?? 0) + delta)
  }

  const byFunction = new Map<string, HotFunction & { micros: number }>()
  const byPackage = new Map<string, number>()
  let busy = 0
  for (const [id, time] of micros) {
    const node = nodes.get(id)
    if (!node || NOT_BUSY.has(node.callFrame.functionName)) continue
    busy += time
    const { functionName, url, lineNumber } = node.callFrame
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}:${lineNumber + 1}` : ''
    const key = `${functionName}@${where}`
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, selfPercent: 0, micros: 0 }
    entry.micros += time
    byFunction.set(key, entry)
    const pkg = packageOf(node.callFrame)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time)
  }
  return {
    functions: [...byFunction.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, count)
      .map(({ name, where, micros: time }) => ({ name, where, selfPercent: (100 * time) / Math.max(busy, 1) })),
    packages: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, time]) => ({ name, microsPerRequest: time / Math.max(requests, 1) }))
  }
}
