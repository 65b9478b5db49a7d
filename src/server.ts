import closeWithGrace from 'close-with-grace'
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

  // Graceful shutdown on SIGTERM or SIGINT (and on an uncaught error): app.close() stops
  // accepting connections and closes the idle ones, lets in-flight requests finish (a PUT or
  // DELETE releases its lock in its own finally block before answering), then the onClose
  // hooks disconnect Redis and close MongoDB. close-with-grace exits 0 when that is done, 1 on
  // an error, or 1 after SHUTDOWN_TIMEOUT_MS if a request never finishes; a second signal
  // exits at once.
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error; shutting down')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    await app.close()
    app.log.info('shut down')
  })

  await app.listen({ port: config.PORT, host: config.HOST })
}

main().catch((err: unknown) => {
  console.error('start-up failed:', err instanceof Error ? err.message : err)
  process.exit(1)
})
