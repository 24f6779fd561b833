import { it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { seedCreditor } from '../helpers/seed.js';
import { cpfNumber } from '../fixtures/csv/support.js';

it('probe', async () => {
  const t = await buildTestApp();
  const a = await seedCreditor(t);
  await t.request.put('/api/v1/debts').set(a.auth).send({ debts: [{ external_id: 'W', cpf: cpfNumber(1), name: 'x', amount_cents: 100, due_date: '2026-01-01' }] });
  let r = await t.request.delete('/api/v1/debts/W').set(a.auth);
  console.log(r.status, JSON.stringify(r.body), JSON.stringify(r.req.getHeaders()));
  r = await t.request.delete('/api/v1/debts/NOPE').set(a.auth);
  console.log(r.status, JSON.stringify(r.body));
  const inj = await t.app.inject({ method: 'DELETE', url: '/api/v1/debts/W', headers: a.auth });
  console.log(inj.statusCode, inj.body);
  await t.close();
});
