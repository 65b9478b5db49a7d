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
  const text = Buffer.concat(chunks).toString('latin1')
  const [head = '', body = ''] = text.split('\r\n\r\n', 2)
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
