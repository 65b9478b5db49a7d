// Money is computed in integer cents so that 3 x 0.10 is 0.30, not 0.30000000000000004.

/** The price in cents, or undefined when it has more than two decimals. */
export function toCents (amount: number): number | undefined {
  const cents = Math.round(amount * 100)
  // amount * 100 carries float noise (0.29 * 100 = 28.999...), so round first, then require
  // that the rounded cents give back exactly the same number: 0.100000001 does not.
  return cents / 100 === amount ? cents : undefined
}

export function fromCents (cents: number): number {
  return cents / 100
}

/** Sum of qty x price, exact to the cent. Prices must already be known to have two decimals. */
export function totalAmount (items: ReadonlyArray<{ qty: number, price: number }>): number {
  let cents = 0
  for (const item of items) cents += item.qty * (toCents(item.price) ?? Number.NaN)
  return fromCents(cents)
}
