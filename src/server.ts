import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { ConfigError, loadConfig, workerCount } from './config.js'

// The server entry: the only place that reads process.env. With WORKERS > 1 (0: one per core)
// this process becomes a cluster primary that runs that many workers, each running this same
// file as a full instance; otherwise it is the instance itself. Each side is imported only by
// the process that runs it: the primary never loads the service's plugins and routes.

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
  const prettyLogs = process.env.PRETTY_LOGS === 'true'
  const workers = workerCount(config, availableParallelism())
  if (cluster.isPrimary && workers > 1) (await import('./cluster-primary.js')).runPrimary({ config, workers, prettyLogs })
  else await (await import('./instance.js')).runInstance({ config, prettyLogs })
}

main().catch((err: unknown) => {
  console.error('start-up failed:', err instanceof Error ? err.message : err)
  process.exit(1)
})
