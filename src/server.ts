import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

// The server entry: the only place that reads process.env.

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

  const app = await buildApp({ config, prettyLogs: process.env.PRETTY_LOGS === 'true' })

  // Graceful shutdown: stop accepting, let in-flight requests finish (their locks are released
  // in their own finally blocks), then close Redis and MongoDB through the onClose hooks.
  let closing = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (closing) return
      closing = true
      app.log.info({ signal }, 'shutting down')
      const force = setTimeout(() => {
        app.log.error('graceful shutdown timed out; exiting')
        process.exit(1)
      }, 10_000)
      force.unref()
      app.close().then(() => process.exit(0), (err: unknown) => {
        app.log.error({ err }, 'error during shutdown')
        process.exit(1)
      })
    })
  }

  await app.listen({ port: config.PORT, host: config.HOST })
}

main().catch((err: unknown) => {
  console.error('start-up failed:', err instanceof Error ? err.message : err)
  process.exit(1)
})
