// Compiles the service into dist/ (tsconfig.build.json, what `npm run build` does) when
// dist/src/server.js is missing or older than any source, and does nothing otherwise.
// scripts/test.sh runs it once before tap; test/built-server.ts runs it under an exclusive
// lock (flock), so two test files started in parallel never run tsc into dist/ at once: the
// second waits for the first's build and then finds dist fresh.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'src', 'server.js')

function newestSourceMtime () {
  let newest = 0
  const visit = (path) => {
    const stat = statSync(path)
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry))
    else if (path.endsWith('.ts')) newest = Math.max(newest, stat.mtimeMs)
  }
  for (const dir of ['src', 'plugins', 'routes']) visit(join(ROOT, dir))
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs)
  return newest
}

if (!existsSync(SERVER) || statSync(SERVER).mtimeMs < newestSourceMtime()) {
  process.stderr.write('[build-if-stale] dist is missing or stale: compiling\n')
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' })
}
