// scratch: pure-JS costs of the debts page pieces (not committed)
import { readFileSync } from 'node:fs';
import { createHandlebars } from '../src/plugins/view.js';
import { formatBRL } from '../src/lib/money.js';
import { formatDateBR, calendarDateAt } from '../src/lib/dates.js';
import { updatedBalance } from '../src/modules/negotiation/offers.js';
import { defaultPolicy } from '../src/modules/negotiation/policy.js';
import { creditorView, debtorView } from '../src/modules/portal/view-models.js';
import { sessionIdFromCookie } from '../src/modules/portal/session.js';
import { randomUUID, createHash } from 'node:crypto';
const hbs = createHandlebars();
const V = '/work/main/views/';
hbs.registerPartial('portal-creditor', hbs.compile(readFileSync(V + 'partials/portal-creditor.hbs', 'utf8')));
const page = hbs.compile(readFileSync(V + 'pages/portal/debts.hbs', 'utf8'));
const layout = hbs.compile(readFileSync(V + 'layouts/main.hbs', 'utf8'));
const policy = defaultPolicy();
const rows = Array.from({ length: 10 }, (_, i) => ({ id: 100 + i, externalId: `BENCH-${i}`, description: `Mensalidade ${i + 1} do plano Família`, dueDate: `2026-0${(i % 9) + 1}-15`, amountCents: 15000 + i * 12345, creditedCents: 0 }));
const creditor = { id: 'x', name: 'Bench Cobranças Ltda', document: '11222333000181', street: 'Av. Paulista, 1000', city: 'São Paulo', state: 'SP', postalCode: '01310100', email: 'a@b.c', phone: null };
const day = '2026-11-23';
function viewModel() {
  const debts = rows.map((d) => ({ id: d.id, description: d.description ?? `Dívida ${d.externalId}`, externalId: d.externalId, dueDate: formatDateBR(d.dueDate), balance: formatBRL(updatedBalance({ amount_cents: d.amountCents, credited_cents: d.creditedCents, due_date: d.dueDate }, policy, day).balance_cents) }));
  return { lang: 'pt-BR', title: 'Suas dívidas', creditor: creditorView(creditor), debtor: debtorView('39053344705'), live: [], past: [], debts, today: formatDateBR(day), error: undefined, session: true, csrfToken: 'abcdefgh-0123456789abcdefghijklmnopqrstuv' };
}
const vm = viewModel();
function render(ctx: Record<string, unknown>) { const c = { ...ctx }; c.body = page(c); return layout(c); }
const json = JSON.stringify(rows);
const bench = (label: string, f: () => unknown, n = 20000) => {
  let best = Infinity;
  for (let r = 0; r < 5; r++) { const t0 = process.cpuUsage(); for (let i = 0; i < n; i++) f(); const c = process.cpuUsage(t0); best = Math.min(best, (c.user + c.system) / n); }
  console.log(label.padEnd(30), best.toFixed(2), 'µs');
};
bench('viewModel (10 debts)', viewModel);
bench('  updatedBalance x10', () => rows.map((d) => updatedBalance({ amount_cents: d.amountCents, credited_cents: d.creditedCents, due_date: d.dueDate }, policy, day)));
bench('  formatBRL x10', () => rows.map((d) => formatBRL(d.amountCents)));
bench('  creditorView', () => creditorView(creditor));
bench('render page+layout', () => render(vm));
bench('JSON.parse debts', () => JSON.parse(json));
bench('sessionIdFromCookie', () => sessionIdFromCookie('CLFEGNYhVJaC7SyDpo4hUdal2khPtWFPGAfBlBVE-xc'));
bench('randomUUID', () => randomUUID());
bench('sha1 small', () => createHash('sha1').update('abc-def').digest('base64'));
bench('calendarDateAt (dayjs tz)', () => calendarDateAt(new Date(), 'America/Sao_Paulo'), 2000);
console.log('html bytes', render(vm).length);
