import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { OverloadedError } from '../../src/http/errors.js'
import { OPERATIONAL_ROUTES } from '../../src/http/operational-routes.js'

/**
 * Load shedding with @fastify/under-pressure: while the event loop is slower than
 * LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS (or over the optional utilisation and memory limits),
 * API requests are answered at once with 503 OVERLOADED and Retry-After instead of queueing
 * behind the backlog. Health and metrics stay served: an orchestrator must not restart a busy
 * instance for being busy, and operators must see the overload.
 */
export default fp(async function loadShedding (app) {
  const config = app.config
  await app.register(underPressure, {
    maxEventLoopDelay: config.LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS,
    maxEventLoopUtilization: config.LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION,
    maxHeapUsedBytes: config.LOAD_SHEDDING_MAX_HEAP_USED_BYTES,
    maxRssBytes: config.LOAD_SHEDDING_MAX_RSS_BYTES,
    sampleInterval: config.LOAD_SHEDDING_SAMPLE_INTERVAL_MS,
    pressureHandler (request, _reply, type, value) {
      if (OPERATIONAL_ROUTES.has(request.routeOptions.url ?? '')) return
      request.log.warn({ type, value }, 'shedding load')
      // A rejection goes to the error handler, which answers with the contract body and the
      // Retry-After of OVERLOADED.
      return Promise.reject(new OverloadedError())
    }
  })
}, { name: 'load-shedding' })
