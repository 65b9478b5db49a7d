import { Ajv, type Options } from 'ajv'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'

// Fastify's default Ajv removes unknown properties and coerces types everywhere. The contract
// wants the opposite for JSON bodies: an unknown field or a number sent as a string is a 400,
// never silently dropped or converted. Query strings and path params arrive as text, so they
// keep type coercion ("?page=2" is the integer 2).
const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }
const bodyAjv = new Ajv({ ...shared, coerceTypes: false })
const textAjv = new Ajv({ ...shared, coerceTypes: 'array' })

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema)

/**
 * Validation messages as Fastify writes them (`body/items/0/qty must be >= 1`), except that an
 * unknown property is named: Ajv's "must NOT have additional properties" does not say which.
 */
export function schemaErrorFormatter (errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(errors.map((error) => {
    const path = `${dataVar}${error.instancePath}`
    const unknown = error.keyword === 'additionalProperties' ? error.params.additionalProperty : undefined
    if (typeof unknown === 'string') return `${path} must NOT have additional properties: ${JSON.stringify(unknown.slice(0, 100))} is not a known field`
    return `${path} ${error.message ?? 'is not valid'}`
  }).join(', '))
}
