// Benchmark of the negotiation engine: every offer of one debtor, with 1 and with 50 debts,
// default policy (12 installments). Target: < 1 ms per call with 50 debts.
//
//   npx tsx bench/offers.ts          a readable table
//   npx tsx bench/offers.ts --json   one JSON line with the figures
import os from 'node:os';
import { computeOffers, type DebtInput } from '../src/modules/negotiation/offers.js';
import { DEFAULT_POLICY, type Policy } from '../src/modules/negotiation/policy.js';

const TARGET_MS = 1;
const AS_OF = '2026-06-15';
const FIRST_DUE = '2026-06-20';
const json = process.argv.includes('--json');

/** Deterministic inputs (a small LCG), so every run measures the same work. */
function makeDebts(count: number, seed: number): DebtInput[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  const asOfMs = Date.UTC(2026, 5, 15);
  const debts: DebtInput[] = [];
  for (let i = 0; i < count; i++) {
    // due dates spread over ~4.5 years before today, plus a few not yet due
    const daysBack = Math.floor(next() * 1650) - 20;
    const due = new Date(asOfMs - daysBack * 86_400_000).toISOString().slice(0, 10);
    const amount = 1_000 + Math.floor(next() * 5_000_000); // R$ 10 to R$ 50,010
    const credited = next() < 0.2 ? Math.floor(amount * next() * 0.5) : 0;
    debts.push(credited > 0 ? { amount_cents: amount, credited_cents: credited, due_date: due } : { amount_cents: amount, due_date: due });
  }
  return debts;
}

let sink = 0;

/** The bare loop: what any code must at least do per debt (sum amounts, count days overdue). */
function baseline(debts: readonly DebtInput[]): number {
  const asOf = Date.UTC(2026, 5, 15) / 86_400_000;
  let total = 0;
  let days = 0;
  for (const debt of debts) {
    const d = debt.due_date;
    const due = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / 86_400_000;
    days += Math.max(0, asOf - due);
    total += debt.amount_cents - (debt.credited_cents ?? 0);
  }
  return total + days;
}

function engine(policy: Policy): (debts: readonly DebtInput[]) => number {
  return (debts) => {
    const result = computeOffers({ debts, policy, asOf: AS_OF, firstDueDate: FIRST_DUE });
    return result.offers.length + result.balance_cents;
  };
}

/** Worst case, for information: 72 installments, no minimum parcel. */
const LONG_POLICY: Policy = { ...DEFAULT_POLICY, max_installments: 72, min_installment_cents: 0 };

let peakRss = process.memoryUsage().rss;

// p50/p99 include the cost of reading the clock (~0.1 µs), which dominates the bare loop.
type Stats = { iterations: number; mean_ms: number; p50_ms: number; p99_ms: number };

function measure(fn: (debts: readonly DebtInput[]) => number, debts: readonly DebtInput[], iterations: number): Stats {
  for (let i = 0; i < Math.min(2_000, iterations); i++) sink += fn(debts); // warm-up
  // the mean from a tight loop (no timer calls inside), the percentiles from timed calls
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    sink += fn(debts);
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    sink += fn(debts);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    if ((i & 1023) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  samples.sort();
  return {
    iterations,
    mean_ms: wall / iterations,
    p50_ms: samples[Math.floor(iterations * 0.5)]!,
    p99_ms: samples[Math.min(iterations - 1, Math.floor(iterations * 0.99))]!,
  };
}

const one = makeDebts(1, 7);
const fifty = makeDebts(50, 42);
const offersOfFifty = computeOffers({ debts: fifty, policy: DEFAULT_POLICY, asOf: AS_OF, firstDueDate: FIRST_DUE }).offers.length;

const cases = [
  { name: '1 debt', debts: one, policy: DEFAULT_POLICY, iterations: 20_000 },
  { name: '50 debts', debts: fifty, policy: DEFAULT_POLICY, iterations: 5_000 },
  { name: '50 debts, 72×', debts: fifty, policy: LONG_POLICY, iterations: 2_000 },
].map(({ name, debts, policy, iterations }) => {
  const offers = measure(engine(policy), debts, iterations);
  const bare = measure(baseline, debts, iterations);
  return { name, debts: debts.length, max_installments: policy.max_installments, offers, baseline: bare, ratio: offers.mean_ms / bare.mean_ms };
});
peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);

const fifty50 = cases[1]!;
const report = {
  bench: 'offers',
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model ?? 'unknown',
  total_memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  policy: 'default (max_installments 12); the 72× case: max_installments 72, min_installment_cents 0',
  offers_for_50_debts: offersOfFifty,
  cases: cases.map((c) => ({
    name: c.name,
    max_installments: c.max_installments,
    debts: c.debts,
    iterations: c.offers.iterations,
    mean_ms: round(c.offers.mean_ms),
    p50_ms: round(c.offers.p50_ms),
    p99_ms: round(c.offers.p99_ms),
    baseline_mean_ms: round(c.baseline.mean_ms),
    baseline_p99_ms: round(c.baseline.p99_ms),
    ratio_to_baseline: Number(c.ratio.toFixed(1)),
  })),
  peak_rss_mib: Number((peakRss / 2 ** 20).toFixed(1)),
  target_ms: TARGET_MS,
  target_met: fifty50.offers.mean_ms < TARGET_MS,
};

function round(ms: number): number {
  return Number(ms.toPrecision(3));
}

if (json) {
  console.log(JSON.stringify(report));
} else {
  const rows = [
    ['case', 'iterations', 'mean ms', 'p50 ms', 'p99 ms', 'bare mean ms', 'bare p99 ms', 'ratio'],
    ...report.cases.map((c) => [
      c.name,
      String(c.iterations),
      String(c.mean_ms),
      String(c.p50_ms),
      String(c.p99_ms),
      String(c.baseline_mean_ms),
      String(c.baseline_p99_ms),
      `${c.ratio_to_baseline}×`,
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const line = (r: string[]) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
  console.log(`computeOffers — every offer of one debtor, default policy (12 installments); ${offersOfFifty} offers for 50 debts`);
console.log('the 72× case (information only): max_installments 72, min_installment_cents 0');
  console.log(`${report.date}  node ${report.node}  ${report.cpus} cores (${report.cpu_model})  ${report.total_memory_gib} GiB`);
  console.log('');
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log('');
  console.log(`peak RSS ${report.peak_rss_mib} MiB`);
  console.log(
    `target: mean < ${TARGET_MS} ms for 50 debts — ${report.target_met ? 'met' : 'NOT MET'} (${fifty50.offers.mean_ms.toFixed(4)} ms)`,
  );
}
if (sink === 42) console.log(''); // keep the results alive
