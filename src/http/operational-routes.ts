/**
 * Routes that serve operators, not API clients: liveness, readiness and the Prometheus scrape.
 * They are not timed as API traffic, never rate limited and never shed under load, so an
 * orchestrator does not restart a busy instance and operators can watch an overload.
 */
export const OPERATIONAL_ROUTES: ReadonlySet<string> = new Set(['/health', '/health/ready', '/metrics'])
