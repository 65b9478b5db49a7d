import t, { type Test } from 'tap'
import { STATUS_CODES } from 'node:http'
import { errorCodes, type FastifyError } from 'fastify'
import { toErrorBody } from '../../src/http/error-mapping.js'
import { ERROR_CODES } from '../../src/http/errors.js'

// Every error Fastify or Node can raise before a handler leaves with a contract body: its
// status kept for a client error, a code the contract lists, the reason phrase of that status,
// and never an exception of its own (which turned a client gone mid-body into a logged 500).

function assertContractBody (t: Test, err: FastifyError, what: string): void {
  let body
  try {
    body = toErrorBody(err)
  } catch (thrown) {
    t.fail(`${what}: the mapping threw ${String(thrown)}`)
    return
  }
  const status = err.statusCode ?? 500
  // A client error keeps its status; anything else Fastify raises is a server-side fault: 500.
  const expected = status >= 400 && status < 500 ? status : 500
  if (body.statusCode !== expected) t.fail(`${what}: status ${status} became ${body.statusCode}`)
  if (!Object.hasOwn(ERROR_CODES, body.code)) t.fail(`${what}: code ${body.code} is not in the contract`)
  if (body.error !== STATUS_CODES[body.statusCode]) t.fail(`${what}: reason ${body.error} for ${body.statusCode}`)
  if (typeof body.message !== 'string') t.fail(`${what}: no message`)
}

t.test('every FST_ error code maps to a contract body', async (t) => {
  const entries = Object.entries(errorCodes)
  t.ok(entries.length > 50, `${entries.length} Fastify error codes`)
  for (const [name, ErrorClass] of entries) assertContractBody(t, new (ErrorClass as new (...args: string[]) => FastifyError)('a', 'b', 'c'), name)
  t.pass('walked every code')
})

t.test('stream errors of a client gone mid-body, and unknown 4xx codes, map to a contract body', async (t) => {
  const streamErrors = [
    Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 }),
    Object.assign(new Error('aborted'), { code: 'ECONNABORTED', statusCode: 400 }),
    Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE', statusCode: 400 }),
    Object.assign(new Error('request aborted'), { code: 'ERR_HTTP_REQUEST_TIMEOUT', statusCode: 408 }),
    Object.assign(new Error('forbidden'), { statusCode: 403 }),
    Object.assign(new Error('gone'), { code: 'SOMETHING_ELSE', statusCode: 410 }),
    Object.assign(new Error('no code'), { statusCode: 400 })
  ] as FastifyError[]
  for (const err of streamErrors) assertContractBody(t, err, `${err.code ?? 'no code'} ${err.statusCode}`)
  t.equal(toErrorBody(streamErrors[4] as FastifyError).code, 'FORBIDDEN', 'a 403 says FORBIDDEN, not BAD_REQUEST')
  t.equal(toErrorBody(streamErrors[3] as FastifyError).code, 'REQUEST_TIMEOUT')
  t.equal(toErrorBody(streamErrors[5] as FastifyError).statusCode, 410, 'an unknown code keeps its status')
})
