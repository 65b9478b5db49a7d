import fp from 'fastify-plugin'
import fastifyCors from '@fastify/cors'
import { corsOrigins } from '../../src/config.js'

/** CORS for the FlowOps admin UI, which runs on another origin. CORS_ORIGINS, default any. */
export default fp(async function cors (app) {
  await app.register(fastifyCors, {
    origin: corsOrigins(app.config),
    // Joined once here: given arrays, the plugin joins them again on every request.
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'].join(', '),
    allowedHeaders: ['Content-Type', 'If-Match', 'Authorization', 'X-Request-Id'].join(', '),
    exposedHeaders: ['Location', 'ETag', 'X-Cache', 'Retry-After', 'X-Request-Id', 'WWW-Authenticate',
      'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'].join(', '),
    maxAge: 600
  })
}, { name: 'cors' })
