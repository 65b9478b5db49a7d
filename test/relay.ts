import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { Test } from 'tap'

/**
 * A TCP relay between the service and a real server (Redis or MongoDB), owned by one test: it
 * forwards bytes both ways, and once armed it holds the first message from the service that
 * contains a given marker (a command name), or the first reply to it that does (a value the
 * server sends back), until the test releases it. This is how a test
 * pauses one request at an exact step, like a slow network would, with nothing in the service
 * that exists for tests. Not a test file itself.
 */
async function relayTo (t: Test, target: { host: string, port: number }) {
  const sockets = new Set<Socket>()
  let marker: { text: string, from: 'service' | 'server' } | undefined
  let onHeld: (() => void) | undefined
  let release: (() => void) | undefined

  /** Writes each chunk in order; the one that carries the armed marker waits for release. */
  function forward (from: 'service' | 'server', source: Socket, destination: Socket) {
    // Chunks go on in order; one held chunk holds everything after it on this socket.
    let queue = Promise.resolve()
    source.on('data', (chunk: Buffer) => {
      if (marker?.from === from && chunk.includes(marker.text)) {
        marker = undefined
        const released = new Promise<void>((resolve) => { release = resolve })
        queue = queue.then(() => released)
        onHeld?.()
      }
      queue = queue.then(() => { destination.write(chunk) })
    })
  }

  let refusing = false
  const server = createServer((client) => {
    // As a stopped server would: the connection is reset at once.
    if (refusing) {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    client.pause()
    upstream.once('connect', () => client.resume())
    forward('server', upstream, client)
    forward('service', client, upstream)
    const close = () => { client.destroy(); upstream.destroy() }
    client.on('close', close).on('error', close)
    upstream.on('close', close).on('error', close)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  t.teardown(() => {
    release?.()
    for (const socket of sockets) socket.destroy()
    server.close()
  })

  function holdNext (text: string): Promise<void> {
    marker = { text, from: 'service' }
    return new Promise((resolve) => { onHeld = resolve })
  }

  function releaseHeld (): void {
    release?.()
    release = undefined
  }

  return {
    port,
    /** Holds the next message that contains `text`; resolves once one is held. */
    holdNext,
    /**
     * Starts `start`, holds its next message that contains `text` (a paused reader's fill
     * script, say), runs `meanwhile` while it is held, lets it through, and returns what
     * `start` resolved to.
     */
    async whileHolding<T> (text: string, start: () => Promise<T>, meanwhile: () => Promise<unknown>): Promise<T> {
      const held = holdNext(text)
      const started = start()
      await held
      await meanwhile()
      releaseHeld()
      return started
    },
    /** Holds the next reply that contains `text` (the service has asked, and waits); resolves once one is held. */
    holdNextReply (text: string): Promise<void> {
      marker = { text, from: 'server' }
      return new Promise((resolve) => { onHeld = resolve })
    },
    /** Lets the held message, and everything after it, through. */
    release: releaseHeld,
    /** While on, every new connection is reset (the server seems gone); those open go on. */
    refuseNew (on: boolean): void {
      refusing = on
    }
  }
}

/** `url` (redis:// or mongodb://) rewritten to reach its server through a new relay. */
export async function throughRelay (t: Test, url: string) {
  const direct = new URL(url)
  const relay = await relayTo(t, { host: direct.hostname, port: Number(direct.port) })
  const relayed = new URL(url)
  relayed.port = String(relay.port)
  return { relay, url: relayed.toString() }
}
