import t from 'tap'
import { fromCents, toCents, totalAmount } from '../../src/orders/money.js'

// Money is integer cents: two-decimal prices convert exactly, anything finer is refused.

t.test('toCents converts prices with at most two decimals exactly', async (t) => {
  const cases: Array<[number, number]> = [
    [0, 0], [0.01, 1], [0.07, 7], [0.1, 10], [0.2, 20], [0.3, 30], [1, 100], [1.1, 110],
    [1.15, 115], [4.35, 435], [19.99, 1999], [1.005e2, 10050], [999_999.99, 99_999_999], [1_000_000, 100_000_000]
  ]
  for (const [amount, cents] of cases) t.equal(toCents(amount), cents, `${amount} -> ${cents}`)
})

t.test('toCents refuses more than two decimals', async (t) => {
  const cases = [0.001, 0.005, 1.005, 0.125, 19.999, 999_999.999, 0.000001, 0.100000001, 1e-9, 12.3400001]
  for (const amount of cases) t.equal(toCents(amount), undefined, `${amount} has more than two decimals`)
})

t.test('fromCents is the inverse of toCents', async (t) => {
  for (const cents of [0, 1, 10, 30, 1999, 99_999_999]) {
    t.equal(toCents(fromCents(cents)), cents, `${cents} cents round-trips`)
  }
  t.equal(fromCents(30), 0.3)
  t.equal(fromCents(1999), 19.99)
})

t.test('totalAmount is exact to the cent', async (t) => {
  const line = (qty: number, price: number) => ({ qty, price })
  const cases: Array<[string, Array<{ qty: number, price: number }>, number]> = [
    ['no items', [], 0],
    ['3 x 0.10', [line(3, 0.1)], 0.3],
    ['0.10 + 0.20', [line(1, 0.1), line(1, 0.2)], 0.3],
    ['ten times 0.10', Array.from({ length: 10 }, () => line(1, 0.1)), 1],
    ['1.15 + 4.35', [line(1, 1.15), line(1, 4.35)], 5.5],
    ['7 x 19.99', [line(7, 19.99)], 139.93],
    ['3 x 0.07', [line(3, 0.07)], 0.21],
    ['free', [line(10_000, 0)], 0],
    ['10 000 x 999 999.99', [line(10_000, 999_999.99)], 9_999_999_900],
    ['100 lines of 10 000 x 999 999.99', Array.from({ length: 100 }, () => line(10_000, 999_999.99)), 999_999_990_000],
    ['100 lines of 10 000 x 0.01', Array.from({ length: 100 }, () => line(10_000, 0.01)), 10_000]
  ]
  for (const [name, items, expected] of cases) t.equal(totalAmount(items), expected, `${name} = ${expected}`)
  t.not(0.1 + 0.2, 0.3, 'plain float addition would not have been exact')
})

t.test('totalAmount never turns a bad price into a plausible number', async (t) => {
  t.ok(Number.isNaN(totalAmount([{ qty: 1, price: 0.001 }])), 'a 3-decimal price gives NaN, not a total')
  t.ok(Number.isNaN(totalAmount([{ qty: 1, price: 1 }, { qty: 2, price: 0.125 }])), 'one bad line poisons the total')
})
