import type { Test } from 'tap'
import { once } from 'node:events'
import type { Redis } from 'ioredis'
import { validOrder, type TestApp } from '../helper.js'

// Not a test file: what every topology test checks first, against whichever Redis it runs on.

/** /health/ready reports Redis up and a POST is created; returns the new order's id. */
export async function readyThenCreate (t: Test, app: TestApp): Promise<string> {
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().redis, 'up', '/health/ready reports Redis up')

  const created = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
  t.equal(created.statusCode, 201, 'POST 201')
  const id = created.json()._id as string
  return id
}

/** The connection name of the cache's entry reader (src/redis/create-redis-client.ts). */
const ENTRY_CONNECTION = 'flowops-order-service-entries'

/**
 * The entry-reader connections a Redis server lists (CLIENT LIST, on a Redis of the test's
 * own), with the last command each ran: the reader's connection runs MGET and nothing else
 * once it is ready.
 */
export async function entryConnections (admin: Redis): Promise<Array<{ lastCommand: string }>> {
  const clients = (await admin.client('LIST') as string).split('\n')
  return clients.filter((line) => line.includes(` name=${ENTRY_CONNECTION} `))
    .map((line) => ({ lastCommand: /\bcmd=(\S+)/.exec(line)?.[1] ?? '' }))
}

/**
 * Whether `connection`'s socket reads into reused buffers (src/redis/reused-read-buffer.ts):
 * the replies of two reads land in one ArrayBuffer, where a socket of Node's own gets a fresh
 * buffer per read.
 */
export async function readsIntoReusedBuffers (connection: Redis): Promise<boolean> {
  if (connection.status !== 'ready') {
    const ready = once(connection, 'ready')
    // A Cluster's node connections connect on their first command (lazyConnect).
    if (connection.status === 'wait') await connection.connect()
    await ready
  }
  const chunks: Buffer[] = []
  const onData = (chunk: Buffer) => { chunks.push(chunk) }
  connection.stream.on('data', onData)
  await connection.ping()
  await connection.ping()
  connection.stream.off('data', onData)
  return chunks.length >= 2 && chunks.every((chunk) => chunk.buffer === chunks[0]?.buffer)
}
