import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

// Reads the .cpuprofile that `node --cpu-prof` wrote on exit and says where the busy time of
// the load went: the functions with the most self time, and the same time by package, in
// microseconds per request. Only the samples taken during the load count: before it the
// process was starting up (loading modules, compiling schemas) or idle, after it shutting down.
// The window is given in the monotonic clock of process.hrtime, which on Linux is the one V8
// stamps its samples with; if no sample falls inside it (another clock), the profile's last
// `seconds` are used instead.

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** When the load ran, in microseconds of the monotonic clock (process.hrtime.bigint() / 1000). */
export interface LoadWindow { fromMicros: number, toMicros: number, seconds: number }

/** Microseconds of CPU per profile node, over the samples inside the window. */
function selfTimes (profile: CpuProfile, window: LoadWindow): Map<number, number> {
  // Sample i stands for the interval up to the next sample (as DevTools reads it).
  const times: number[] = []
  let t = profile.startTime
  for (const delta of profile.timeDeltas) {
    t += delta
    times.push(t)
  }
  const inside = new Map<number, number>()
  const trailing = new Map<number, number>()
  const end = times[times.length - 1] ?? 0
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const id = profile.samples[i] as number
    const at = times[i] ?? 0
    const interval = (times[i + 1] ?? at) - at
    if (at >= window.fromMicros && at < window.toMicros) inside.set(id, (inside.get(id) ?? 0) + interval)
    if (at >= end - window.seconds * 1e6) trailing.set(id, (trailing.get(id) ?? 0) + interval)
  }
  return inside.size > 0 ? inside : trailing
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

export async function hotPath (dir: string, window: LoadWindow, requests: number, count = 12): Promise<HotPath> {
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
  if (!file) return { functions: [], packages: [] }
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))

  const micros = selfTimes(profile, window)

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
