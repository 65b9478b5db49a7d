import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { SHUTDOWN_MESSAGE } from './shutdown-message.js'

/**
 * One full service instance: the whole process when WORKERS is 1, or one cluster worker.
 *
 * Graceful shutdown on SIGTERM or SIGINT (and on an uncaught error): app.close() stops
 * accepting connections and closes the idle ones, lets in-flight requests finish (a PUT or
 * DELETE releases its lock in its own finally block before answering), then the onClose hooks
 * disconnect Redis and close MongoDB. close-with-grace exits 0 when that is done, 1 on an
 * error, or 1 after SHUTDOWN_TIMEOUT_MS if a request never finishes; a second signal exits at
 * once. A worker also drains when its primary asks (the primary does not forward signals: a
 * Ctrl-C reaches every process of the group, and a forwarded copy would be a second signal),
 * and when its primary is gone (the IPC channel closed), so no worker outlives it.
 */
export async function runInstance ({ config, prettyLogs }: { config: Config, prettyLogs: boolean }): Promise<void> {
  // A request from the primary that arrives while the app is starting is kept for after listen.
  let pending = false
  let requested = () => { pending = true }
  const worker = process.send !== undefined
  if (worker) {
    process.on('message', (message) => { if (message === SHUTDOWN_MESSAGE) requested() })
    process.once('disconnect', () => requested())
  }

  const app = await buildApp({ config, prettyLogs })

  let closing = false
  const { close } = closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: app.log }, async ({ signal, err }) => {
    closing = true
    if (err) app.log.error({ err }, 'fatal error; shutting down')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    await app.close()
    app.log.info('shut down')
  })

  await app.listen({ port: config.PORT, host: config.HOST })

  requested = () => { if (!closing) close() }
  if (pending || (worker && !process.connected)) requested()
}
