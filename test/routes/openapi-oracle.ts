import { Ajv, type ValidateFunction } from 'ajv'
import assert from 'node:assert/strict'
import type { TestApp } from '../helper.js'
import type { InjectedResponse } from './contract.js'

// The service's own OpenAPI document as the oracle of the property tests: what it says a request
// may be, and what each answer must look like. Not a test file itself.

interface Operation {
  parameters?: Array<{ name: string, in: string, required?: boolean, schema: object }>
  requestBody?: { content: { 'application/json': { schema: object } } }
  responses: Record<string, { headers?: Record<string, { schema?: object, pattern?: string }>, content?: { 'application/json': { schema: object } } }>
}
interface Document { paths: Record<string, Record<string, Operation>> }

/** A number as an exact decimal fraction `int / 10^scale`, read from its shortest text. */
function decimal (value: number): [bigint, number] {
  const [mantissa = '0', exponent = '0'] = value.toExponential().split('e')
  const [whole = '0', fraction = ''] = mantissa.replace('-', '').split('.')
  let scale = fraction.length - Number(exponent)
  let int = BigInt(whole + fraction)
  if (scale < 0) {
    int *= 10n ** BigInt(-scale)
    scale = 0
  }
  return [value < 0 ? -int : int, scale]
}

/**
 * JSON Schema's multipleOf read as decimal text, as jsonschema-rs (schemathesis's validator)
 * reads it: 0.29 is a multiple of 0.01 and 0.1 + 0.2 is not. A float division cannot say that.
 */
export function isDecimalMultiple (value: number, of: number): boolean {
  const [a, p] = decimal(value)
  const [b, q] = decimal(of)
  return (a * 10n ** BigInt(q)) % (b * 10n ** BigInt(p)) === 0n
}

export class OpenApiOracle {
  private readonly ajv = new Ajv({ strict: false, allErrors: false })
  private readonly compiled = new Map<string, ValidateFunction>()

  constructor (private readonly doc: Document) {
    this.ajv.removeKeyword('multipleOf')
    this.ajv.addKeyword({
      keyword: 'multipleOf',
      type: 'number',
      schemaType: 'number',
      validate: (of: number, value: number) => isDecimalMultiple(value, of)
    })
  }

  static async of (app: TestApp): Promise<OpenApiOracle> {
    const response = await app.inject('/openapi.json')
    return new OpenApiOracle(response.json() as Document)
  }

  private operation (method: string, path: string): Operation {
    const operation = this.doc.paths[path]?.[method.toLowerCase()]
    if (!operation) throw new Error(`${method} ${path} is not in the document`)
    return operation
  }

  private validator (key: string, schema: object): ValidateFunction {
    let validate = this.compiled.get(key)
    if (!validate) {
      validate = this.ajv.compile(schema)
      this.compiled.set(key, validate)
    }
    return validate
  }

  /** Whether the document says this JSON body is acceptable for the operation. */
  acceptsBody (method: string, path: string, body: unknown): boolean {
    const schema = this.operation(method, path).requestBody?.content['application/json'].schema
    if (!schema) throw new Error(`${method} ${path} takes no body`)
    return this.validator(`${method} ${path} body`, schema)(body)
  }

  /** Whether the document says this parameter value (a string off the wire, or absent) is acceptable. */
  acceptsParameter (method: string, path: string, name: string, value: string | undefined): boolean {
    const parameter = this.operation(method, path).parameters?.find((p) => p.name === name)
    if (!parameter) throw new Error(`${method} ${path} has no parameter ${name}`)
    if (value === undefined) return parameter.required !== true
    const schema = parameter.schema as { type?: string }
    // A query or path parameter arrives as text; an integer parameter is its canonical decimal.
    const typed = schema.type === 'integer' ? (/^-?\d+$/.test(value) ? Number(value) : value) : value
    return this.validator(`${method} ${path} ${name}`, schema)(typed)
  }

  /**
   * Asserts that the answer is one the document lists for the operation: a documented status,
   * a JSON body that validates against that status's schema, documented headers that match.
   * Throws (node:assert) on the first breach, so a property-based test's runner sees it.
   */
  assertAnswer (method: string, path: string, response: InjectedResponse): void {
    const documented = this.operation(method, path).responses[String(response.statusCode)]
    if (!documented) assert.fail(`${method} ${path}: status ${response.statusCode} is not documented (${response.body})`)
    const schema = documented.content?.['application/json'].schema
    if (schema) {
      assert.match(String(response.headers['content-type']), /^application\/json/, `${method} ${path} ${response.statusCode}: a JSON answer`)
      const validate = this.validator(`${method} ${path} ${response.statusCode}`, schema)
      if (!validate(response.json())) {
        assert.fail(`${method} ${path} ${response.statusCode}: the body breaks its schema: ${this.ajv.errorsText(validate.errors)} (${response.body.slice(0, 300)})`)
      }
    }
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const value = response.headers[name.toLowerCase()]
      if (value === undefined || !header.schema) continue
      const validate = this.validator(`${method} ${path} ${response.statusCode} ${name}`, header.schema)
      const typed = (header.schema as { type?: string }).type === 'integer' ? Number(value) : value
      if (!validate(typed)) assert.fail(`${method} ${path} ${response.statusCode}: header ${name}: ${String(value)} breaks its schema`)
    }
  }
}
