import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'

// Not a test file: what test/redis-cluster.ts and test/redis-sentinel.ts share to run their own
// servers: an admin connection to ask one about itself (CLUSTER NODES, SENTINEL, INFO), and a
// hard stop.

/** A short-lived admin connection to one node. */
export async function ask<T> (port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await work(redis)
  } finally {
    redis.disconnect()
  }
}

/** SIGKILL, and wait for the exit (nothing to do if it has already exited). */
export async function killNow (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}
