// One assertion of the suite: its name, whether it held, and the figures behind the verdict.

export interface Check {
  name: string
  passed: boolean
  detail: string
}

export function check (name: string, passed: boolean, detail: string): Check {
  return { name, passed, detail }
}

/** At most `limit` examples, for a failure's detail. */
export function examples (items: string[], limit = 5): string {
  if (items.length === 0) return ''
  const more = items.length > limit ? ` (and ${items.length - limit} more)` : ''
  return `: ${items.slice(0, limit).join('; ')}${more}`
}
