import { Agent, get, request } from 'node:http'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { now, type LogEntry, type Kind, type OrderSnapshot } from './request-log.js'

// A small HTTP client over node:http with keep-alive, so the load driver controls every
// request and records exactly when it was sent and answered.

export interface Call {
  instance: number
  baseUrl: string
  kind: Kind
  method: string
  path: string
  orderId?: string
  ifMatch?: number
  body?: unknown
  /** The client's Accept-Encoding (a br or a gzip client); identity when absent. */
  acceptEncoding?: 'br' | 'gzip'
}

// Keep-alive sockets per instance: a bounded number, so the service's open handles do not
// follow the latency of the moment (requests beyond it wait in the agent, and that wait is
// part of their measured latency). Enough that writes held for a deadline while Redis is gone
// (up to 1 s each, about 40 at once at 500 requests/s) do not queue the reads behind them.
export const SOCKETS_PER_INSTANCE = 48

/** The `error` of a request whose socket stayed silent for the client timeout (the checks tell it apart by this). */
export const noAnswerWithin = (timeoutMs: number): string => `no answer within ${timeoutMs} ms`
const agents = new Map<string, Agent>()

function agentFor (baseUrl: string): Agent {
  let agent = agents.get(baseUrl)
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: SOCKETS_PER_INSTANCE })
    agents.set(baseUrl, agent)
  }
  return agent
}

/**
 * Whether `url`/health answers 200, on a connection of its own that closes with the answer.
 * fetch() would keep its connection in undici's pool for as long as the server's Keep-Alive hint
 * allows (72 s): one more HTTP client than the soak's connection bound counts.
 */
export async function answersHealth (url: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    // Bounded: a server that accepts and never answers (frozen, or still starting) must not
    // hold the caller's polling loop, whose deadline is checked between probes.
    get(`${url}/health`, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode === 200))
      response.on('close', () => resolve(false)) // after 'end', a no-op: the first settle wins
    }).on('error', () => resolve(false))
  })
}

export function closeAgents (): void {
  for (const agent of agents.values()) agent.destroy()
  agents.clear()
}

function snapshot (value: unknown): OrderSnapshot | undefined {
  if (typeof value !== 'object' || value === null || !('_id' in value)) return undefined
  const { _id, customer, address, status, totalAmount, version, updatedAt } = value as OrderSnapshot
  return { _id, customer, address, status, totalAmount, version, updatedAt }
}

/** Reads what the checks need from a parsed answer. */
function interpret (entry: LogEntry, parsed: unknown): void {
  if (typeof parsed !== 'object' || parsed === null) return
  const body = parsed as Record<string, unknown>
  if (typeof body.code === 'string') entry.code = body.code
  if (entry.status < 200 || entry.status >= 300) return
  if (entry.kind === 'list' && Array.isArray(body.data)) {
    entry.listed = (body.data as Array<{ _id: string, version: number }>).map((order) => [order._id, order.version])
  } else {
    const order = snapshot(entry.kind === 'cancel' ? body.order : body)
    if (order) entry.order = order
  }
}

export function send (call: Call, seq: number, timeoutMs: number): Promise<LogEntry> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body)
  const headers: Record<string, string> = {}
  if (payload !== undefined) headers['content-type'] = 'application/json'
  if (call.ifMatch !== undefined) headers['if-match'] = `"${call.ifMatch}"`
  if (call.acceptEncoding !== undefined) headers['accept-encoding'] = call.acceptEncoding
  const entry: LogEntry = {
    seq,
    instance: call.instance,
    kind: call.kind,
    method: call.method,
    path: call.path,
    sentAt: now(),
    doneAt: 0,
    status: 0
  }
  if (call.orderId !== undefined) entry.orderId = call.orderId
  if (call.ifMatch !== undefined) entry.ifMatch = call.ifMatch
  return new Promise((resolve) => {
    let finished = false
    const finish = (error?: string) => {
      if (finished) return
      finished = true
      entry.doneAt = now()
      if (error !== undefined) entry.error = error
      resolve(entry)
    }
    const req = request(`${call.baseUrl}${call.path}`, { method: call.method, headers, agent: agentFor(call.baseUrl), timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', (err) => finish(err.message))
      res.on('end', () => {
        entry.status = res.statusCode ?? 0
        const cache = res.headers['x-cache']
        if (typeof cache === 'string') entry.cache = cache
        const coding = res.headers['content-encoding']
        if (coding !== undefined) entry.encoding = coding
        try {
          const body = Buffer.concat(chunks)
          const decoded = coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body
          interpret(entry, JSON.parse(decoded.toString()))
        } catch {
          entry.error = coding === undefined ? 'unparseable body' : `unparseable ${coding} body`
        }
        finish()
      })
    })
    req.on('socket', () => { entry.writtenAt = now() })
    req.on('timeout', () => req.destroy(new Error(noAnswerWithin(timeoutMs))))
    req.on('error', (err) => finish(err.message))
    req.end(payload)
  })
}
