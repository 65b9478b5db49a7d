// A cache entry is the response body prefixed by a two-line header:
//
//   <generation>\n<etag>\n<body bytes>
//
// The generation is the one the filler observed before reading MongoDB (the fill script
// writes it in front, see scripts/fill-if-generation.ts); a hit requires it to equal the current generation:
// the list generation, which a POST bumps, or the order's, which its PUT and DELETE bump. A PUT
// or DELETE does not bump the list generation: it rewrites or deletes the list pages holding its
// order (see PageTracking in src/cache/keys.ts). The body is sent exactly as stored: a hit slices the
// buffer, it never parses or re-serialises JSON.
//
// Beside the entry, under `<entry key>:filled` and with the same TTL, the fill script stores
// when it filled it (Redis's clock, ms): the entry's age, for an eager refresh
// (src/cache/refresh-ahead.ts) and for grace (src/cache/grace.ts). Compared with this process's
// clock: a skew between the two moves both by as much.

const NEWLINE = 0x0a

/** What the fill script stores after the generation line. */
export function entryPayload (etag: string, body: string): string {
  return `${etag}\n${body}`
}

export function decodeEntry (stored: Buffer): { generation: Buffer, etag: string, body: Buffer } | undefined {
  const first = stored.indexOf(NEWLINE)
  if (first < 0) return undefined
  const second = stored.indexOf(NEWLINE, first + 1)
  if (second < 0) return undefined
  return {
    generation: stored.subarray(0, first),
    etag: stored.toString('latin1', first + 1, second),
    body: stored.subarray(second + 1)
  }
}

/** The fill time stored beside an entry (ms, Redis's clock) as its age now; undefined when not known. */
export function entryAge (filled: Buffer | null | undefined): number | undefined {
  const at = filled ? Number(filled.toString('latin1')) : NaN
  return Number.isFinite(at) ? Math.max(0, Date.now() - at) : undefined
}
