import type { RouteOptions } from 'fastify'

/**
 * Adds a response a cross-cutting plugin can answer on this route (401, 429, 503) to the
 * route's schema, from an onRoute hook: the API document then lists it, and the body is
 * serialised with its schema. Routes hidden from the document are left alone, and a response
 * the route declares itself is kept.
 */
export function addResponse (route: RouteOptions, status: number, schema: object): void {
  const routeSchema = route.schema ?? {}
  if (routeSchema.hide === true) return
  const response = (routeSchema.response ?? {}) as Record<string, unknown>
  if (response[status] === undefined) response[status] = schema
  route.schema = { ...routeSchema, response }
}
