import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The shape a newcomer can navigate, checked rather than hoped for: no source file of the
// service over 220 lines, and no import cycle (a file that, through its imports, imports
// itself), type-only imports included, in the service, the benchmark and the reliability suite.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const MAX_LINES = 220

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/** The project files a file imports (relative specifiers; `.js` names the `.ts` source). */
function importsOf (file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const specifiers = [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)].map((m) => m[1] ?? m[2] as string)
  return specifiers.map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts'))
}

t.test(`no source file in src/, plugins/ or routes/ is over ${MAX_LINES} lines`, async (t) => {
  const files = ['src', 'plugins', 'routes'].flatMap(sources)
  t.ok(files.length > 50, `${files.length} files read`)
  const over = files.map((file) => ({ file, lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
  t.same(over, [], 'every file within the limit')
})

t.test('no import cycle', async (t) => {
  const files = ['src', 'plugins', 'routes', 'bench', 'reliability'].flatMap(sources)
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => target.endsWith('.ts'))]))
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const path: string[] = []
  function visit (file: string): void {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '))
      return
    }
    state.set(file, 'visiting')
    path.push(file)
    for (const target of graph.get(file) ?? []) visit(target)
    path.pop()
    state.set(file, 'done')
  }
  for (const file of files) visit(file)
  t.ok([...graph.values()].some((targets) => targets.length > 0), 'imports were found')
  t.same(cycles, [], 'no file imports itself through others')
})

t.test('the cluster primary does not load the app graph', async (t) => {
  const seen = new Set<string>()
  const queue = ['src/cluster-primary.ts']
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (seen.has(file)) continue
    seen.add(file)
    queue.push(...importsOf(file).filter((target) => target.endsWith('.ts')))
  }
  t.notOk(seen.has('src/app.ts'), 'src/app.ts is not among what it imports, directly or not')
  t.notOk([...seen].some((file) => file.startsWith('plugins/') || file.startsWith('routes/')), 'nor any plugin or route')
})
