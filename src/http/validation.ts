import { Ajv, type Options } from 'ajv'
import ajvKeywords from 'ajv-keywords'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { IF_MATCH_PATTERN, trimmedAtLeast } from '../orders/schemas.js'

// Fastify's default Ajv removes unknown properties and coerces types everywhere. The contract
// wants the opposite for JSON bodies: an unknown field or a number sent as a string is a 400,
// never silently dropped or converted. Query strings and path params arrive as text, so they
// keep type coercion ("?page=2" is the integer 2).
// multipleOfPrecision: Ajv divides by multipleOf in floating point, which would refuse 0.29 as a
// multiple of 0.01; with a tolerance it accepts every price the document's multipleOf 0.01
// allows, and src/orders/money.ts then refuses, exactly, the few it lets through (0.29000001).
const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false, multipleOfPrecision: 6 }
const bodyAjv = new Ajv({ ...shared, coerceTypes: false })
const textAjv = new Ajv({ ...shared, coerceTypes: 'array' })
// `transform` (ajv-keywords): an order id in a path is lowered as it is validated (src/orders/schemas.ts).
// A CommonJS module: under NodeNext its default import is the module, whose `default` is the plugin.
ajvKeywords.default(textAjv, 'transform')

/** The properties of an object schema that are integers. */
function integerProperties (schema: object): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}
  return Object.keys(properties).filter((name) => properties[name]?.type === 'integer')
}

const DECIMAL_INTEGER = /^-?\d+$/

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return bodyAjv.compile(schema)
  const validate = textAjv.compile(schema)
  const integers = integerProperties(schema)
  if (integers.length === 0) return validate
  // Ajv's coercion reads any text JavaScript reads as a number ("0x10", "1e2", " 3"); the
  // document says integer, so an integer in text is written in decimal digits, and only that.
  const strict = (data: unknown): boolean => {
    const values = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>
    const malformed = integers.find((name) => typeof values[name] === 'string' && !DECIMAL_INTEGER.test(values[name]))
    if (malformed === undefined) {
      const valid = validate(data)
      strict.errors = validate.errors
      return valid
    }
    strict.errors = [{ keyword: 'type', instancePath: `/${malformed}`, schemaPath: `#/properties/${malformed}/type`, params: { type: 'integer' }, message: 'must be integer' }]
    return false
  }
  strict.errors = null as typeof validate.errors
  return strict
}

// What a pattern means, said in words: the patterns themselves are unreadable in a message.
const PATTERN_MEANINGS = new Map<string, string>([
  ...[1, 2, 5].map((min): [string, string] => [trimmedAtLeast(min), `must have at least ${min} character${min > 1 ? 's' : ''} once trimmed`]),
  [IF_MATCH_PATTERN, 'must be * or a comma-separated list of entity tags such as "3"']
])

/**
 * Validation messages as Fastify writes them (`body/items/0/qty must be >= 1`), except that an
 * unknown property is named (Ajv's "must NOT have additional properties" does not say which)
 * and a pattern is said in words.
 */
export function schemaErrorFormatter (errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(errors.map((error) => {
    const path = `${dataVar}${error.instancePath}`
    const unknown = error.keyword === 'additionalProperties' ? error.params.additionalProperty : undefined
    if (typeof unknown === 'string') return `${path} must NOT have additional properties: ${JSON.stringify(unknown.slice(0, 100))} is not a known field`
    const meaning = error.keyword === 'pattern' ? PATTERN_MEANINGS.get(String(error.params.pattern)) : undefined
    if (meaning !== undefined) return `${path} ${meaning}`
    return `${path} ${error.message ?? 'is not valid'}`
  }).join(', '))
}
