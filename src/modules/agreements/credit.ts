// What an agreement received, credited to its debts (CONTRACT §8): in proportion to each
// debt's principal when the agreement was made, each share rounded half away from zero,
// the rounding remainder to the largest principal (the first of equals).
import { divRound } from '../../lib/money.js';

export interface PrincipalShare<K> {
  key: K;
  principal_cents: number;
}

/** Splits `total_cents` over the debts; shares sum to `total_cents` exactly (all 0 when no principal). */
export function splitProRata<K>(totalCents: number, debts: readonly PrincipalShare<K>[]): Map<K, number> {
  const out = new Map<K, number>();
  const sum = debts.reduce((s, d) => s + BigInt(d.principal_cents), 0n);
  if (debts.length === 0) return out;
  if (sum === 0n) {
    for (const d of debts) out.set(d.key, 0);
    return out;
  }
  const total = BigInt(totalCents);
  let given = 0n;
  let largest = debts[0]!;
  for (const d of debts) {
    const share = divRound(total * BigInt(d.principal_cents), sum);
    out.set(d.key, Number(share));
    given += share;
    if (d.principal_cents > largest.principal_cents) largest = d;
  }
  out.set(largest.key, out.get(largest.key)! + Number(total - given));
  return out;
}
