import fp from 'fastify-plugin'
import fastifyHelmet from '@fastify/helmet'

/**
 * Security headers on every response. The API only ever returns JSON, so its Content Security
 * Policy allows nothing at all; the documentation UI under /docs sets its own, narrower-than-
 * default policy (plugins/external/swagger.ts) that lets its scripts and styles load.
 * Cross-Origin-Resource-Policy stays same-origin: it only restricts no-cors embeds, never the
 * admin UI's CORS requests.
 */
export default fp(async function helmet (app) {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }
    },
    // HSTS only means something behind TLS, which a proxy terminates; it does no harm there.
    strictTransportSecurity: { maxAge: 15552000, includeSubDomains: true }
  })
}, { name: 'helmet' })
