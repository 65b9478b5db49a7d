import fp from 'fastify-plugin'
import { ValidationError } from '../../src/http/errors.js'

/**
 * The key a prototype-poisoning body uses, if it holds one: `__proto__` anywhere, or a
 * `constructor` object with a `prototype` key (what Fastify's parser refuses). Only called
 * once that parser has refused the body, to tell such a body from one that is not JSON.
 */
function poisoningKey (text: string): string | undefined {
  let found: string | undefined
  try {
    JSON.parse(text, function (key, value: unknown) {
      if (key === '__proto__') found ??= '__proto__'
      if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) {
        found ??= 'constructor.prototype'
      }
      return value
    })
  } catch {
    return undefined
  }
  return found
}

/**
 * JSON bodies through Fastify's own parser, which refuses prototype poisoning (a `__proto__`
 * key, or `constructor.prototype`) by throwing as it does for a syntax error. Such a body is
 * valid JSON, so it is answered with what is refused and why (400 VALIDATION_ERROR), not with
 * "not valid JSON"; a body that is not JSON stays 400 INVALID_JSON.
 */
export default fp(async function jsonBody (app) {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, function parseJsonBody (request, body, done) {
    const text = String(body)
    parse(request, text, (err, value) => {
      if (err === null) return done(null, value)
      const key = poisoningKey(text)
      if (key === undefined) return done(err, undefined)
      done(new ValidationError(`body must NOT have the key "${key}": it is refused anywhere in a body, to prevent prototype poisoning`), undefined)
    })
  })
}, { name: 'json-body' })
