/**
 * What a cluster primary sends a worker to have it drain and exit: sent by src/cluster-primary.ts,
 * heard by src/instance.ts. A module of its own so that the primary does not import instance.ts,
 * and through it the whole service (src/app.ts).
 */
export const SHUTDOWN_MESSAGE = 'flowops:shutdown'
