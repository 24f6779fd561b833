// GET/PUT /api/v1/policy (contract §4.4) over HTTP on the real app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/modules/negotiation/policy.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

let t: TestApp;
/** never stores a policy: every PUT it makes is refused */
let refusing: SeededCreditor;
// (POST /api/v1/auth/token allows 30 a minute: each test seeds few creditors)
beforeAll(async () => {
  t = await buildTestApp();
  refusing = await seedCreditor(t);
});
afterAll(async () => t.close());

type FieldError = { path: string; message: string };

const band = (min: number, cash: number, installment: number) => ({ min_days_overdue: min, cash_discount_pct: cash, installment_discount_pct: installment });

async function put(c: SeededCreditor, body: unknown) {
  return t.request.put('/api/v1/policy').set(c.auth).send(body as object);
}

async function refusedPaths(c: SeededCreditor, body: unknown): Promise<string[]> {
  const res = await put(c, body);
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 422, title: 'Unprocessable Content' });
  return (res.body.errors as FieldError[]).map((e) => e.path);
}

describe('GET /api/v1/policy', () => {
  it('is version 0, the contract defaults, for a creditor that never set one', async () => {
    const c = await seedCreditor(t);
    const res = await t.request.get('/api/v1/policy').set(c.auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ version: 0, ...DEFAULT_POLICY });
  });

  it('needs a token', async () => {
    expect((await t.request.get('/api/v1/policy')).status).toBe(401);
    expect((await t.request.put('/api/v1/policy').send({})).status).toBe(401);
    expect((await t.request.get('/api/v1/policy').set('Authorization', 'Bearer forged')).status).toBe(401);
  });
});

describe('PUT /api/v1/policy', () => {
  it('each PUT makes the next version; GET answers the latest', async () => {
    const c = await seedCreditor(t);
    const first = await put(c, { late_fine_pct: 1.5, max_installments: 6 });
    expect(first.status).toBe(200);
    // omitted fields take the defaults
    expect(first.body).toEqual({ ...DEFAULT_POLICY, version: 1, late_fine_pct: 1.5, max_installments: 6 });
    const second = await put(c, { bands: [band(0, 5, 5), band(30, 50.5, 25.25)] });
    expect(second.status).toBe(200);
    // the whole policy is replaced: late_fine_pct is back to its default
    expect(second.body).toEqual({ ...DEFAULT_POLICY, version: 2, bands: [band(0, 5, 5), band(30, 50.5, 25.25)] });
    const third = await put(c, {});
    expect(third.body).toEqual({ ...DEFAULT_POLICY, version: 3 });
    const got = await t.request.get('/api/v1/policy').set(c.auth);
    expect(got.body).toEqual({ ...DEFAULT_POLICY, version: 3 });
  });

  it('ignores a version in the body, so that a GET can be sent back as it is', async () => {
    const c = await seedCreditor(t);
    await put(c, { offer_validity_hours: 72 });
    const got = await t.request.get('/api/v1/policy').set(c.auth);
    expect(got.body.version).toBe(1);
    const back = await put(c, got.body);
    expect(back.status).toBe(200);
    expect(back.body).toEqual({ ...got.body, version: 2 });
    // any value: it never chooses the stored version
    for (const version of [0, 99, 'x', null]) {
      const res = await put(c, { version });
      expect(res.status).toBe(200);
      expect(typeof res.body.version).toBe('number');
    }
    expect((await t.request.get('/api/v1/policy').set(c.auth)).body.version).toBe(6);
  });

  it('accepts every bound itself', async () => {
    const c = await seedCreditor(t);
    const edges = {
      late_fine_pct: 2,
      monthly_interest_pct: 1,
      bands: Array.from({ length: 10 }, (_, i) => band(i * 30, 99.99, i === 0 ? 0 : 99.99)),
      max_installments: 72,
      min_installment_cents: 0,
      installment_monthly_rate_pct: 1,
      first_due_max_days: 30,
      offer_validity_hours: 720,
      break_after_days: 180,
    };
    expect((await put(c, edges)).body).toEqual({ version: 1, ...edges });
    const low = { late_fine_pct: 0, monthly_interest_pct: 0, installment_monthly_rate_pct: 0, max_installments: 1, first_due_max_days: 0, offer_validity_hours: 48, break_after_days: 1 };
    expect((await put(c, low)).body).toEqual({ ...DEFAULT_POLICY, ...low, version: 2 });
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['late fine above 2 %', { late_fine_pct: 2.01 }, 'late_fine_pct'],
    ['negative late fine', { late_fine_pct: -0.01 }, 'late_fine_pct'],
    ['interest above 1 % for a creditor that is not a financial institution', { monthly_interest_pct: 1.01 }, 'monthly_interest_pct'],
    ['installment rate above 1 % for the same', { installment_monthly_rate_pct: 1.01 }, 'installment_monthly_rate_pct'],
    ['a cash discount of 100 %', { bands: [band(0, 100, 0)] }, 'bands.0.cash_discount_pct'],
    ['an installment discount of 100 %', { bands: [band(0, 99.99, 100)] }, 'bands.0.installment_discount_pct'],
    ['a negative discount', { bands: [band(0, -1, 0)] }, 'bands.0.cash_discount_pct'],
    ['installment discount above cash discount in band 1', { bands: [band(0, 10, 0), band(91, 40, 40.01)] }, 'bands.1.installment_discount_pct'],
    ['bands not ascending', { bands: [band(0, 10, 0), band(361, 70, 50), band(91, 40, 20)] }, 'bands.2.min_days_overdue'],
    ['bands with the same min_days_overdue', { bands: [band(0, 10, 0), band(0, 20, 0)] }, 'bands.1.min_days_overdue'],
    ['a first band not at 0 days', { bands: [band(1, 10, 0)] }, 'bands.0.min_days_overdue'],
    ['11 bands', { bands: Array.from({ length: 11 }, (_, i) => band(i * 10, 10, 0)) }, 'bands'],
    ['no band', { bands: [] }, 'bands'],
    ['bands not a list', { bands: { min_days_overdue: 0 } }, 'bands'],
    ['a band missing a field', { bands: [{ min_days_overdue: 0, cash_discount_pct: 10 }] }, 'bands.0.installment_discount_pct'],
    ['max_installments 0', { max_installments: 0 }, 'max_installments'],
    ['max_installments 73', { max_installments: 73 }, 'max_installments'],
    ['max_installments 2.5', { max_installments: 2.5 }, 'max_installments'],
    ['negative min_installment_cents', { min_installment_cents: -1 }, 'min_installment_cents'],
    ['fractional min_installment_cents', { min_installment_cents: 10.5 }, 'min_installment_cents'],
    ['offer_validity_hours 47', { offer_validity_hours: 47 }, 'offer_validity_hours'],
    ['offer_validity_hours 721', { offer_validity_hours: 721 }, 'offer_validity_hours'],
    ['first_due_max_days 31', { first_due_max_days: 31 }, 'first_due_max_days'],
    ['negative first_due_max_days', { first_due_max_days: -1 }, 'first_due_max_days'],
    ['break_after_days 0', { break_after_days: 0 }, 'break_after_days'],
    ['break_after_days 181', { break_after_days: 181 }, 'break_after_days'],
    ['a three-decimal fine', { late_fine_pct: 1.005 }, 'late_fine_pct'],
    ['a three-decimal interest', { monthly_interest_pct: 0.125 }, 'monthly_interest_pct'],
    ['a three-decimal discount', { bands: [band(0, 10.125, 0)] }, 'bands.0.cash_discount_pct'],
    ['a percentage as a string', { late_fine_pct: '2' }, 'late_fine_pct'],
    ['a null field', { max_installments: null }, 'max_installments'],
    ['an unknown field', { late_fee_pct: 2 }, 'late_fee_pct'],
    ['an unknown band field', { bands: [{ ...band(0, 10, 0), max_days_overdue: 90 }] }, 'bands.0.max_days_overdue'],
  ];

  it.each(refused)('refuses %s with its dotted path', async (_name, body, path) => {
    expect(await refusedPaths(refusing, body)).toContain(path);
    // nothing stored
    expect((await t.request.get('/api/v1/policy').set(refusing.auth)).body.version).toBe(0);
  });

  it('names every problem at once, each unknown field by itself', async () => {
    const res = await put(refusing, { late_fine_pct: 3, foo: 1, bar: 2, bands: [band(0, 10, 20)], break_after_days: 0 });
    expect(res.status).toBe(422);
    const errors = res.body.errors as FieldError[];
    expect(errors.map((e) => e.path).sort()).toEqual(['bands.0.installment_discount_pct', 'bar', 'break_after_days', 'foo', 'late_fine_pct']);
    expect(errors.find((e) => e.path === 'foo')!.message).toBe('unknown field');
    expect(errors.find((e) => e.path === 'late_fine_pct')!.message).toMatch(/at most 2/);
  });

  it('refuses a body that is not a JSON object', async () => {
    const c = refusing;
    const list = await put(c, [1, 2]);
    expect(list.status).toBe(422);
    expect(list.body.errors).toEqual([{ path: '', message: 'must be an object' }]);
    const malformed = await t.request.put('/api/v1/policy').set(c.auth).set('Content-Type', 'application/json').send('{"late_fine_pct": ');
    expect(malformed.status).toBe(400);
  });

  it('allows rates up to 20 % for a financial institution, not above', async () => {
    const bank = await seedCreditor(t, { financial_institution: true });
    const res = await put(bank, { monthly_interest_pct: 20, installment_monthly_rate_pct: 19.99 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 1, monthly_interest_pct: 20, installment_monthly_rate_pct: 19.99 });
    expect(await refusedPaths(bank, { monthly_interest_pct: 20.01 })).toEqual(['monthly_interest_pct']);
    expect(await refusedPaths(bank, { installment_monthly_rate_pct: 21 })).toEqual(['installment_monthly_rate_pct']);
    expect(await refusedPaths(bank, { late_fine_pct: 2.01 })).toEqual(['late_fine_pct']);
    // the same 20 % from a store
    const refusedStore = await put(refusing, { monthly_interest_pct: 20 });
    expect(refusedStore.status).toBe(422);
    expect(refusedStore.body.errors).toEqual([{ path: 'monthly_interest_pct', message: expect.stringMatching(/at most 1 .*financial institution/) }]);
  });

  it('keeps each creditor to its own policy', async () => {
    const a = await seedCreditor(t);
    const b = await seedCreditor(t);
    await put(a, { max_installments: 3 });
    await put(a, { max_installments: 4 });
    expect((await t.request.get('/api/v1/policy').set(b.auth)).body).toEqual({ version: 0, ...DEFAULT_POLICY });
    const bFirst = await put(b, { max_installments: 24 });
    expect(bFirst.body).toMatchObject({ version: 1, max_installments: 24 });
    expect((await t.request.get('/api/v1/policy').set(a.auth)).body).toMatchObject({ version: 2, max_installments: 4 });
  });

  it('gives 10 concurrent PUTs the versions 1…10, without gaps or duplicates', async () => {
    const c = await seedCreditor(t);
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => put(c, { max_installments: i + 1 })));
    expect(responses.map((r) => r.status)).toEqual(Array<number>(10).fill(200));
    const versions = responses.map((r) => r.body.version as number).sort((x, y) => x - y);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // each stored policy is the one its PUT sent
    for (const [i, r] of responses.entries()) expect(r.body.max_installments).toBe(i + 1);
    const latest = await t.request.get('/api/v1/policy').set(c.auth);
    expect(latest.body.version).toBe(10);
    expect(latest.body.max_installments).toBe(responses.find((r) => r.body.version === 10)!.body.max_installments);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = await t.request.get('/docs/json');
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, { requestBody?: unknown }>>;
    expect(paths['/api/v1/policy']?.get).toBeDefined();
    expect(JSON.stringify(paths['/api/v1/policy']?.put?.requestBody)).toContain('cash_discount_pct');
    expect(JSON.stringify(paths['/api/v1/simulate']?.post?.requestBody)).toContain('first_due_date');
  });
});
