import t from 'tap'
import { apiTokens, loadConfig, trustProxy } from '../src/config.js'

// The operability settings: defaults that change nothing for an existing deployment, parsing,
// and start-up errors that name the variable.

t.test('defaults: auth off, no rate limit, load shedding at 1 s of event-loop delay', async (t) => {
  const config = loadConfig({})
  t.same(apiTokens(config), [], 'no tokens: authentication is off')
  t.equal(config.RATE_LIMIT_MAX, 0, 'rate limiting is off')
  t.equal(config.RATE_LIMIT_WINDOW_MS, 60000)
  t.equal(config.RATE_LIMIT_REDIS_TIMEOUT_MS, 100)
  t.equal(config.LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS, 1000)
  t.equal(config.LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION, 0)
  t.equal(config.LOAD_SHEDDING_MAX_HEAP_USED_BYTES, 0)
  t.equal(config.LOAD_SHEDDING_MAX_RSS_BYTES, 0)
  t.equal(config.LOAD_SHEDDING_SAMPLE_INTERVAL_MS, 1000)
  t.equal(config.SHUTDOWN_TIMEOUT_MS, 10000)
  t.equal(trustProxy(config), false, 'the client IP is the socket address')
})

t.test('API_TOKENS: comma-separated, trimmed, de-duplicated', async (t) => {
  t.same(apiTokens(loadConfig({ API_TOKENS: ' one, two ,,one ' })), ['one', 'two'])
})

t.test('TRUST_PROXY: off, everyone, or a list of proxies', async (t) => {
  t.equal(trustProxy(loadConfig({ TRUST_PROXY: 'false' })), false)
  t.equal(trustProxy(loadConfig({ TRUST_PROXY: 'true' })), true)
  t.same(trustProxy(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' })), ['10.0.0.0/8', '127.0.0.1'])
})

t.test('invalid values stop start-up and name the variable', async (t) => {
  const invalid = {
    RATE_LIMIT_MAX: '-1',
    RATE_LIMIT_WINDOW_MS: '0',
    LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION: '1.5',
    LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: 'soon',
    SHUTDOWN_TIMEOUT_MS: '0'
  }
  for (const [name, value] of Object.entries(invalid)) {
    t.throws(() => loadConfig({ [name]: value }), { name: 'ConfigError', message: new RegExp(`${name}=`) }, `${name}=${value}`)
  }
})
