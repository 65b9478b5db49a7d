import { buildApp, OPERABILITY_LAYERS, type OperabilityLayer } from '../src/app.js'
import { loadConfig } from '../src/config.js'

// The benchmark's launcher for the per-layer A/B rows: the service as src/server.ts builds it
// (same configuration from the environment), minus the operability layers named in
// BENCH_WITHOUT (comma-separated, from OPERABILITY_LAYERS in src/app.ts). Only bench/run.ts
// starts it; the service itself has no switch for its layers. One instance, no workers.

const names = (process.env.BENCH_WITHOUT ?? '').split(',').filter((name) => name !== '')
for (const name of names) {
  if (!(OPERABILITY_LAYERS as readonly string[]).includes(name)) throw new Error(`BENCH_WITHOUT: unknown layer ${name} (known: ${OPERABILITY_LAYERS.join(', ')})`)
}
const config = loadConfig(process.env)
const app = await buildApp({ config, without: new Set(names as OperabilityLayer[]) })
await app.listen({ port: config.PORT, host: config.HOST })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
