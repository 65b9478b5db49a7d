import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { build, type BuildOptions } from './helper.js'
import type { InjectedResponse } from './routes/contract.js'

// Raw HTTP over a socket, for what app.inject cannot send: malformed requests, oversized
// headers, unknown methods, CONNECT. Not a test file itself.

/** Builds the app and listens on a free loopback port; returns it and the port. */
export async function listening (t: Test, options: BuildOptions = {}) {
  const app = await build(t, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

/**
 * Sends `request` as it is and reads until the server closes the connection (every request
 * here either asks for Connection: close or is one the server answers by closing). The answer
 * is parsed into the shape app.inject returns, so the contract assertions apply to it.
 */
export async function rawRequest (port: number, request: string | Buffer): Promise<InjectedResponse> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('error', () => {}) // a reset after the answer is the server closing, as asked
  socket.write(request)
  await closed
  return parseResponse(Buffer.concat(chunks).toString('latin1'))
}

/**
 * One HTTP/1.1 response as read off a socket (status line, headers, blank line, body), in the
 * shape app.inject returns: header names lower-cased, the body as text.
 */
export function parseResponse (text: string): InjectedResponse & { headers: Record<string, string> } {
  const end = text.indexOf('\r\n\r\n')
  const head = end < 0 ? text : text.slice(0, end)
  const body = end < 0 ? '' : text.slice(end + 4)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return {
    statusCode: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body,
    json: () => JSON.parse(body)
  }
}
