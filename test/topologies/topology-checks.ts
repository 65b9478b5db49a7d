import type { Test } from 'tap'
import { validOrder, type TestApp } from '../helper.js'

// Not a test file: what every topology test checks first, against whichever Redis it runs on.

/** /health/ready reports Redis up and a POST is created; returns the new order's id. */
export async function readyThenCreate (t: Test, app: TestApp): Promise<string> {
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().redis, 'up', '/health/ready reports Redis up')

  const created = await app.inject({ method: 'POST', url: '/orders', payload: validOrder })
  t.equal(created.statusCode, 201, 'POST 201')
  const id = created.json()._id as string
  return id
}
