import type { ChildProcess } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort } from '../test/free-port.js'
import { spawnLogged, stopProcess } from './processes.js'

// Toxiproxy (Shopify/toxiproxy, built by tools/toxiproxy/build.sh) between the service
// instances and Redis and MongoDB: one proxy per dependency, on a port of its own, and toxics
// (latency, connection resets) added and removed over its HTTP API during a fault window. The
// servers' own faults (SIGSTOP, SIGKILL) still act on the real processes behind it.

export type ToxicType = 'latency' | 'reset_peer'

export interface Proxy {
  name: string
  /** Where the service connects. */
  listen: string
  /** The real server. */
  upstream: string
}

export class Toxiproxy {
  private child: ChildProcess | undefined
  private api = ''

  constructor (private readonly logDir: string) {}

  async start (): Promise<void> {
    const port = await freePort()
    this.api = `http://127.0.0.1:${port}`
    this.child = spawnLogged({
      name: 'toxiproxy',
      command: process.env.TOXIPROXY_BIN ?? 'toxiproxy-server', // scripts/reliability.sh sets it
      args: ['-host', '127.0.0.1', '-port', String(port)],
      logDir: this.logDir
    })
    // It prints nothing reliable when its API is up: asked until it answers, bounded.
    const deadline = Date.now() + 30_000
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`toxiproxy exited with ${this.child.exitCode}`)
      try {
        if ((await fetch(`${this.api}/version`)).ok) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('toxiproxy did not answer within 30 s')
      await delay(50)
    }
  }

  /** A proxy from a free loopback port to `upstream` (host:port); returns where to connect. */
  async proxy (name: string, upstream: string): Promise<Proxy> {
    const listen = `127.0.0.1:${await freePort()}`
    await this.call('POST', '/proxies', { name, listen, upstream, enabled: true })
    return { name, listen, upstream }
  }

  /** Adds a toxic on both directions' data (downstream: server to service, upstream: the other way). */
  async add (proxy: Proxy, type: ToxicType, attributes: Record<string, number>): Promise<void> {
    for (const stream of ['downstream', 'upstream']) {
      await this.call('POST', `/proxies/${proxy.name}/toxics`, { name: `${type}_${stream}`, type, stream, toxicity: 1, attributes })
    }
  }

  async remove (proxy: Proxy, type: ToxicType): Promise<void> {
    for (const stream of ['downstream', 'upstream']) {
      await this.call('DELETE', `/proxies/${proxy.name}/toxics/${type}_${stream}`)
    }
  }

  async stop (): Promise<void> {
    if (this.child) await stopProcess(this.child)
  }

  private async call (method: string, path: string, body?: unknown): Promise<void> {
    const response = await fetch(`${this.api}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    })
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${await response.text()}`)
  }
}

/** Replaces host:port of a redis:// or mongodb:// URL with the proxy's. */
export function through (url: string, proxy: Proxy): string {
  const parsed = new URL(url)
  parsed.host = proxy.listen
  return parsed.toString()
}
