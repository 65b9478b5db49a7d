import { Type } from '@sinclair/typebox'
import { ERROR_CODES, ErrorSchema } from './errors.js'

/** The response schema of one error status, described by the codes it can carry (src/http/errors.ts). */
function errorResponse (status: number) {
  const codes = Object.entries(ERROR_CODES).filter(([, known]) => known.status === status)
  const description = codes.length > 0 ? codes.map(([code, known]) => `${code}: ${known.meaning}`).join('; ') : 'error'
  return Type.Object(ErrorSchema.properties, { description })
}

/** Response schemas for the error statuses a route can answer, for its `schema.response`. */
export function errorResponses (...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)]))
}
