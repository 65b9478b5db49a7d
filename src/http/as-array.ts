/** A route option that may be one value or several (hooks), as a list. */
export function asArray<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}
