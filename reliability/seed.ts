import { setTimeout as delay } from 'node:timers/promises'
import { send } from './http-client.js'
import type { RequestLog } from './request-log.js'
import type { Workload } from './workload.js'

// Creates the starting orders over HTTP, a few at a time, each one logged like any other
// request: the checks then know every order the database should hold. A POST shed by load
// shedding (503 OVERLOADED, answered before any work) is retried after a second; any other
// failure stops the run.

const RETRIES = 30

export async function seed (count: number, url: string, workload: Workload, log: RequestLog, timeoutMs: number): Promise<void> {
  let created = 0
  const create = async () => {
    for (let attempt = 0; ; attempt++) {
      const entry = await send({ instance: 0, baseUrl: url, kind: 'create', method: 'POST', path: '/orders', body: workload.newOrderBody() }, log.nextSeq(), timeoutMs)
      log.add(entry)
      workload.observe(entry)
      if (entry.status === 201) return
      if (entry.code !== 'OVERLOADED' || attempt >= RETRIES) {
        throw new Error(`seeding: POST /orders answered ${entry.status} ${entry.code ?? entry.error ?? ''}`)
      }
      await delay(1000)
    }
  }
  const worker = async () => {
    while (created < count) {
      created++
      await create()
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
}
