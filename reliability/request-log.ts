// The suite's own record of every request it sent and what came back: the checks after the
// run ("nothing lost", "never stale") read nothing else from the HTTP side.

export type Kind = 'list' | 'get' | 'create' | 'update' | 'cancel'

/** The fields of an order that a write changes, as an answer showed them. */
export interface OrderSnapshot {
  _id: string
  customer: string
  address: string
  status: string
  totalAmount: number
  version: number
  updatedAt: string
}

export interface LogEntry {
  seq: number
  instance: number
  kind: Kind
  method: string
  path: string
  orderId?: string
  ifMatch?: number
  /** Wall-clock milliseconds (fractional) when the request was sent and its answer complete. */
  sentAt: number
  doneAt: number
  /**
   * When the request got its socket and was written: later than `sentAt` when all the agent's
   * sockets to that instance were busy (the wait is the load driver's, not the service's).
   */
  writtenAt?: number
  /** 0: no answer (connection error or client timeout, see `error`). */
  status: number
  error?: string
  code?: string
  cache?: string
  /** Content-Encoding of the answer (br, gzip), when it had one. */
  encoding?: string
  /** The order an answer carried (GET one, POST, PUT, DELETE). */
  order?: OrderSnapshot
  /** For a list page: [id, version] of each order on it. */
  listed?: Array<[string, number]>
}

export function now (): number {
  return performance.timeOrigin + performance.now()
}

export class RequestLog {
  readonly entries: LogEntry[] = []
  private seq = 0

  nextSeq (): number {
    return this.seq++
  }

  add (entry: LogEntry): void {
    this.entries.push(entry)
  }
}

export function isOk (entry: LogEntry): boolean {
  return entry.status >= 200 && entry.status < 300
}

export function isServerError (entry: LogEntry): boolean {
  return entry.status === 0 || entry.status >= 500
}
