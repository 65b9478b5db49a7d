import { Ajv, type Options } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

// Fastify's default Ajv removes unknown properties and coerces types everywhere. The contract
// wants the opposite for JSON bodies: an unknown field or a number sent as a string is a 400,
// never silently dropped or converted. Query strings and path params arrive as text, so they
// keep type coercion ("?page=2" is the integer 2).
const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }
const bodyAjv = new Ajv({ ...shared, coerceTypes: false })
const textAjv = new Ajv({ ...shared, coerceTypes: 'array' })

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema)
