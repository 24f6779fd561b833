// The debts API (CONTRACT §4.3): PUT /api/v1/debts (the CSV's rules, item by item),
// GET /api/v1/debts with filters and cursor pagination, GET one with today's balance B,
// DELETE (withdraw). The app's clock reads 2026-11-23 12:00 -03:00 (prescription cutoff
// 2021-11-23).
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updatedBalance } from '../../src/modules/negotiation/offers.js';
import type { Policy } from '../../src/modules/negotiation/policy.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { allDebts, debtRow, setDebt, type Auth, type DebtBody } from '../helpers/portfolio.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { cpfNumber, formatCpf } from '../fixtures/csv/support.js';

const TODAY = '2026-11-23';
const PRESCRIBED = 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

function item(external_id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { external_id, cpf: cpfNumber(Number(external_id.replace(/\D/g, '') || 1)), name: `Nome ${external_id}`, amount_cents: 10_000, due_date: '2026-01-15', ...overrides };
}

function put(auth: Auth, body: unknown) {
  return t.request.put('/api/v1/debts').set(auth).send(body as object);
}

describe('PUT /api/v1/debts', () => {
  let c: SeededCreditor;
  beforeAll(async () => {
    c = await seedCreditor(t);
  });

  it('creates debts, normalised as a CSV import would store them', async () => {
    const res = await put(c.auth, {
      debts: [
        item('N-1', { cpf: formatCpf(cpfNumber(1)), name: '  Ana   Maria  ', email: 'ANA@Exemplo.COM', phone: '+55 (11) 91234-5678', description: 'Linha 1\r\nLinha 2' }),
        item('N-2', { email: null, phone: '', description: null }),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ imported: 2, rejected: 0, errors: [] });
    const one = await t.request.get('/api/v1/debts/N-1').set(c.auth);
    expect(one.body).toMatchObject({
      external_id: 'N-1',
      cpf: cpfNumber(1),
      name: 'Ana Maria',
      email: 'ana@exemplo.com',
      phone: '11912345678',
      amount_cents: 10_000,
      credited_cents: 0,
      due_date: '2026-01-15',
      description: 'Linha 1\nLinha 2',
      status: 'open',
      withdrawn_reason: null,
    });
    expect((await t.request.get('/api/v1/debts/N-2').set(c.auth)).body).toMatchObject({ email: null, phone: null, description: null });
  });

  it('checks each item alone with the CSV rules: index and path debts.N.field', async () => {
    const debts: unknown[] = [
      item('V-0'), // 0 ok
      item('V-1', { cpf: '529.982.247-24' }), // 1 check digit
      item('V-2', { cpf: '11111111111' }), // 2 eleven equal digits
      item('V-3', { name: undefined }), // 3 no name
      item('V-4', { amount_cents: 0 }), // 4 zero
      item('V-5', { amount_cents: -100 }), // 5 negative
      item('V-6', { amount_cents: 10.5 }), // 6 not whole centavos
      item('V-7', { amount_cents: '1000' }), // 7 a string
      item('V-8', { due_date: '2026-02-30' }), // 8 impossible date
      item('V-9', { due_date: '15/10/2026' }), // 9 not ISO
      item('V-10', { due_date: '2021-11-22' }), // 10 prescribed
      item('X'.repeat(65)), // 11 external_id too long
      item('V-12', { name: 'n'.repeat(201) }), // 12 name too long
      item('V-13', { description: 'd'.repeat(501) }), // 13 description too long
      item('V-14', { email: 'joao@' }), // 14 email
      item('V-15', { phone: '12345' }), // 15 phone
      item('V-16', { cpf: '' }), // 16 empty cpf
      item('', { cpf: cpfNumber(17) }), // 17 empty external_id
      item('V-18', { due_date: undefined }), // 18 no due date
      item('V-19', { valor: '10,00' }), // 19 unknown field
      item('V-0', { name: 'Repetida' }), // 20 repeats item 0
      null, // 21 not an object
      item('V-22', { due_date: '2021-11-23' }), // 22 ok: exactly five years
      item('V-1', { cpf: cpfNumber(23) }), // 23 repeats item 1, itself rejected
      item('V-24', { cpf: 52998224725 }), // 24 cpf as a number
      'V-25', // 25 not an object
      item('V-26', { amount_cents: 12_345.0, name: 'Ok Também' }), // 26 ok: 12345.0 is an integer
    ];
    const res = await put(c.auth, { debts });
    expect(res.status).toBe(200);
    expect(res.body.imported).toBe(3);
    expect(res.body.rejected).toBe(24);
    expect(res.body.errors).toEqual([
      { index: 1, path: 'debts.1.cpf', message: 'CPF inválido: dígito verificador não confere' },
      { index: 2, path: 'debts.2.cpf', message: 'CPF inválido: todos os dígitos iguais' },
      { index: 3, path: 'debts.3.name', message: 'nome é obrigatório' },
      { index: 4, path: 'debts.4.amount_cents', message: 'valor deve ser positivo' },
      { index: 5, path: 'debts.5.amount_cents', message: 'valor deve ser positivo' },
      { index: 6, path: 'debts.6.amount_cents', message: 'amount_cents deve ser um número inteiro de centavos (R$ 1.234,56 → 123456)' },
      { index: 7, path: 'debts.7.amount_cents', message: 'amount_cents deve ser um número inteiro de centavos (R$ 1.234,56 → 123456)' },
      { index: 8, path: 'debts.8.due_date', message: 'data inválida: 2026-02-30 não existe' },
      { index: 9, path: 'debts.9.due_date', message: 'data inválida: "15/10/2026" — use AAAA-MM-DD' },
      { index: 10, path: 'debts.10.due_date', message: PRESCRIBED },
      { index: 11, path: 'debts.11.external_id', message: 'external_id com mais de 64 caracteres' },
      { index: 12, path: 'debts.12.name', message: 'nome com mais de 200 caracteres' },
      { index: 13, path: 'debts.13.description', message: 'descrição com mais de 500 caracteres' },
      { index: 14, path: 'debts.14.email', message: 'e-mail inválido: "joao@"' },
      { index: 15, path: 'debts.15.phone', message: 'telefone inválido: use DDD e número, como (11) 91234-5678' },
      { index: 16, path: 'debts.16.cpf', message: 'CPF é obrigatório' },
      { index: 17, path: 'debts.17.external_id', message: 'external_id é obrigatório' },
      { index: 18, path: 'debts.18.due_date', message: 'vencimento é obrigatório' },
      { index: 19, path: 'debts.19.valor', message: 'campo desconhecido' },
      { index: 20, path: 'debts.20.external_id', message: 'external_id repetido: já aparece em debts.0' },
      { index: 21, path: 'debts.21', message: 'cada dívida deve ser um objeto JSON' },
      { index: 23, path: 'debts.23.external_id', message: 'external_id repetido: já aparece em debts.1' },
      { index: 24, path: 'debts.24.cpf', message: 'cpf deve ser um texto' },
      { index: 25, path: 'debts.25', message: 'cada dívida deve ser um objeto JSON' },
    ]);
    const stored = await allDebts(t, c.auth);
    const ids = new Set(stored.map((d) => d.external_id));
    for (const id of ['V-0', 'V-22', 'V-26']) expect(ids.has(id), id).toBe(true);
    for (let i = 1; i <= 25; i++) if (i !== 22) expect(ids.has(`V-${i}`), `V-${i}`).toBe(false);
    expect(stored.find((d) => d.external_id === 'V-0')!.name).toBe('Nome V-0');
  });

  it('up to 1,000 items; 1,001, none, or another shape answers 422', async () => {
    const thousand = Array.from({ length: 1_000 }, (_, i) => item(`K-${i}`, { cpf: cpfNumber(i), amount_cents: i + 1 }));
    const ok = await put(c.auth, { debts: thousand });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ imported: 1_000, rejected: 0, errors: [] });
    expect((await t.request.get('/api/v1/debts/K-999').set(c.auth)).body).toMatchObject({ amount_cents: 1_000, cpf: cpfNumber(999) });

    const before = (await allDebts(t, c.auth)).length;
    const tooMany = await put(c.auth, { debts: [...thousand.map((d) => ({ ...d, amount_cents: 7 })), item('K-1000')] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(tooMany.body.errors.map((e: { path: string }) => e.path)).toEqual(['debts']);
    for (const body of [{ debts: [] }, {}, { debts: 'x' }, { debts: [item('Z-1')], extra: true }]) {
      const res = await put(c.auth, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const unknown = await put(c.auth, { debts: [item('Z-1')], extra: true });
    expect(unknown.body.errors).toEqual([{ path: 'extra', message: expect.any(String) }]);
    // nothing of a refused batch was stored
    const after = await allDebts(t, c.auth);
    expect(after).toHaveLength(before);
    expect(after.find((d) => d.external_id === 'K-0')!.amount_cents).toBe(1);
    expect(after.some((d) => d.external_id === 'Z-1')).toBe(false);
  });

  it('1,000 items with long Portuguese names and descriptions fit, even with every accent \\u-escaped; 9 MiB is too large', async () => {
    const name = 'Conceição Gonçalves Araújo '.repeat(8).slice(0, 200).trim();
    const description = 'Renegociação do cartão de crédito — fatura de março, parcelas em atraso desde a mudança de endereço. '.repeat(6).slice(0, 500).trim();
    const debts = Array.from({ length: 1_000 }, (_, i) => ({
      external_id: `CONTRATO-2026-${String(i).padStart(6, '0')}`,
      cpf: cpfNumber(i),
      name,
      email: `cliente.${i}@exemplo.com.br`,
      phone: '(11) 91234-5678',
      amount_cents: 100 + i,
      due_date: '2026-01-01',
      description,
    }));
    // as Python's json.dumps (ensure_ascii) writes it: 1.2 MB
    const body = JSON.stringify({ debts }).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    expect(Buffer.byteLength(body)).toBeGreaterThan(1024 * 1024);
    const res = await t.request.put('/api/v1/debts').set(c.auth).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ imported: 1_000, rejected: 0, errors: [] });
    expect((await t.request.get('/api/v1/debts/CONTRATO-2026-000999').set(c.auth)).body).toMatchObject({ name, description, amount_cents: 1_099 });
    const huge = await t.request.put('/api/v1/debts').set(c.auth).set('content-type', 'application/json').send(`{"debts":["${'x'.repeat(9 * 1024 * 1024)}"]}`);
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('malformed JSON answers 400; another content type 415', async () => {
    const bad = await t.request.put('/api/v1/debts').set(c.auth).set('content-type', 'application/json').send('{"debts": [');
    expect(bad.status).toBe(400);
    const csv = await t.request.put('/api/v1/debts').set(c.auth).set('content-type', 'text/csv').send('external_id;cpf\n');
    expect(csv.status).toBe(415);
  });

  it('upserts with the import rules: open debts updated, others refused with the reason, credited_cents kept', async () => {
    const seed = await put(c.auth, { debts: [item('U-1'), item('U-2'), item('U-3'), item('U-4'), item('U-5')] });
    expect(seed.body.imported).toBe(5);
    await setDebt(t, c.creditorId, 'U-2', { status: 'in_agreement' });
    await setDebt(t, c.creditorId, 'U-3', { status: 'settled' });
    await setDebt(t, c.creditorId, 'U-4', { creditedCents: 6_000 });
    await setDebt(t, c.creditorId, 'U-5', { status: 'prescribed' });
    const before = { u2: await debtRow(t, c.creditorId, 'U-2'), u3: await debtRow(t, c.creditorId, 'U-3'), u5: await debtRow(t, c.creditorId, 'U-5') };
    const res = await put(c.auth, {
      debts: [
        item('U-1', { amount_cents: 20_000 }),
        item('U-2', { amount_cents: 20_000 }),
        item('U-3', { amount_cents: 20_000 }),
        item('U-4', { amount_cents: 5_999 }),
        item('U-5', { amount_cents: 20_000 }),
        item('U-6'),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      imported: 2,
      rejected: 4,
      errors: [
        { index: 1, path: 'debts.1.external_id', message: 'dívida em acordo: não pode ser alterada enquanto o acordo estiver vigente' },
        { index: 2, path: 'debts.2.external_id', message: 'dívida já quitada: não pode ser alterada' },
        { index: 3, path: 'debts.3.amount_cents', message: 'valor menor que o já pago em acordo anterior (credited_cents)' },
        { index: 4, path: 'debts.4.external_id', message: 'dívida prescrita: não pode ser alterada' },
      ],
    });
    expect(await debtRow(t, c.creditorId, 'U-1')).toMatchObject({ amountCents: 20_000 });
    expect(await debtRow(t, c.creditorId, 'U-2')).toEqual(before.u2);
    expect(await debtRow(t, c.creditorId, 'U-3')).toEqual(before.u3);
    expect(await debtRow(t, c.creditorId, 'U-4')).toMatchObject({ amountCents: 10_000, creditedCents: 6_000 });
    expect(await debtRow(t, c.creditorId, 'U-5')).toEqual(before.u5);
    const raised = await put(c.auth, { debts: [item('U-4', { amount_cents: 6_500 })] });
    expect(raised.body).toEqual({ imported: 1, rejected: 0, errors: [] });
    expect(await debtRow(t, c.creditorId, 'U-4')).toMatchObject({ amountCents: 6_500, creditedCents: 6_000 });
    // the same batch again changes nothing, not even updated_at
    const u1 = await debtRow(t, c.creditorId, 'U-1');
    expect((await put(c.auth, { debts: [item('U-1', { amount_cents: 20_000 })] })).body).toEqual({ imported: 1, rejected: 0, errors: [] });
    expect(await debtRow(t, c.creditorId, 'U-1')).toEqual(u1);
  });
});

describe('GET /api/v1/debts', () => {
  let c: SeededCreditor;
  const ANA = cpfNumber(900);
  const BIA = cpfNumber(901);
  beforeAll(async () => {
    c = await seedCreditor(t);
    const debts = Array.from({ length: 23 }, (_, i) => item(`L-${String(i).padStart(2, '0')}`, { cpf: i % 3 === 0 ? ANA : i % 3 === 1 ? BIA : cpfNumber(i) }));
    expect((await put(c.auth, { debts })).body.imported).toBe(23);
    await setDebt(t, c.creditorId, 'L-01', { status: 'in_agreement' });
    await setDebt(t, c.creditorId, 'L-03', { status: 'settled' });
    await setDebt(t, c.creditorId, 'L-04', { status: 'withdrawn', withdrawnReason: 'withdrawn' });
    await setDebt(t, c.creditorId, 'L-06', { status: 'prescribed' });
  });

  it('pages newest first with limit and next_cursor, each debt once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: Response = await t.request.get(`/api/v1/debts?limit=5${cursor ? `&cursor=${cursor}` : ''}`).set(c.auth);
      expect(res.status).toBe(200);
      sizes.push(res.body.data.length);
      seen.push(...res.body.data.map((d: DebtBody) => d.external_id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([5, 5, 5, 5, 3]);
    // PUT items are created in batch order: the newest is the last item
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `L-${String(22 - i).padStart(2, '0')}`));
    const all = await t.request.get('/api/v1/debts').set(c.auth);
    expect(all.body.next_cursor).toBeNull();
    expect(all.body.data.map((d: DebtBody) => d.external_id)).toEqual(seen);
    const exact = await t.request.get('/api/v1/debts?limit=23').set(c.auth);
    expect(exact.body.next_cursor).toBeNull();
  });

  it('filters by status and by CPF, formatted or bare', async () => {
    const ids = async (q: string) => (await allDebts(t, c.auth, q)).map((d) => d.external_id).sort();
    expect(await ids('status=in_agreement')).toEqual(['L-01']);
    expect(await ids('status=settled')).toEqual(['L-03']);
    expect(await ids('status=withdrawn')).toEqual(['L-04']);
    expect(await ids('status=prescribed')).toEqual(['L-06']);
    expect(await ids('status=open')).toHaveLength(19);
    const ana = ['L-00', 'L-03', 'L-06', 'L-09', 'L-12', 'L-15', 'L-18', 'L-21'];
    expect(await ids(`cpf=${ANA}`)).toEqual(ana);
    expect(await ids(`cpf=${encodeURIComponent(formatCpf(ANA))}`)).toEqual(ana);
    expect(await ids(`cpf=${BIA}&status=in_agreement`)).toEqual(['L-01']);
    expect(await ids(`cpf=${ANA}&status=open`)).toEqual(['L-00', 'L-09', 'L-12', 'L-15', 'L-18', 'L-21']);
    expect(await ids(`cpf=${cpfNumber(999)}`)).toEqual([]);
    const paged = await t.request.get(`/api/v1/debts?cpf=${ANA}&limit=3`).set(c.auth);
    const next = await t.request.get(`/api/v1/debts?cpf=${ANA}&limit=3&cursor=${paged.body.next_cursor}`).set(c.auth);
    expect([...paged.body.data, ...next.body.data].map((d: DebtBody) => d.external_id)).toEqual(['L-21', 'L-18', 'L-15', 'L-12', 'L-09', 'L-06']);
  });

  it('an invalid CPF, status, limit or cursor answers 422', async () => {
    const cases: Array<[string, string]> = [
      ['cpf=529.982.247-24', 'cpf'],
      ['cpf=11111111111', 'cpf'],
      ['cpf=abc', 'cpf'],
      ['status=paid', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=2.5', 'limit'],
      ['cursor=forged', 'cursor'],
      [`cursor=${Buffer.from('d:abc').toString('base64url')}`, 'cursor'],
      [`cursor=${Buffer.from(JSON.stringify(['2026-11-23T15:00:00.000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`, 'cursor'],
    ];
    for (const [q, path] of cases) {
      const res = await t.request.get(`/api/v1/debts?${q}`).set(c.auth);
      expect(res.status, q).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path), q).toEqual([path]);
      // no message holds the whole CPF sent
      expect(JSON.stringify(res.body)).not.toContain('52998224724');
    }
    for (const limit of [1, 500]) {
      const res = await t.request.get(`/api/v1/debts?limit=${limit}`).set(c.auth);
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(Math.min(limit, 23));
    }
  });
});

describe('GET /api/v1/debts/{external_id}', () => {
  let c: SeededCreditor;
  let policy: Policy;
  beforeAll(async () => {
    c = await seedCreditor(t);
    const set = await t.request.put('/api/v1/policy').set(c.auth).send({ late_fine_pct: 1.5, monthly_interest_pct: 0.75 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const { version, ...rest } = (await t.request.get('/api/v1/policy').set(c.auth)).body as Policy & { version: number };
    expect(version).toBe(1);
    policy = rest;
    const res = await put(c.auth, {
      debts: [
        item('B-1', { amount_cents: 100_000, due_date: '2026-10-24' }), // 30 days overdue
        item('B-2', { amount_cents: 123_457, due_date: '2024-02-29' }),
        item('B-3', { amount_cents: 5_000, due_date: '2026-12-10' }), // not yet due
        item('B-4', { amount_cents: 99_999, due_date: '2021-11-23' }), // the last collectable day
        item('AB/12 ç#?', { amount_cents: 777 }),
      ],
    });
    expect(res.body.imported).toBe(5);
  });

  async function get(id: string) {
    const res = await t.request.get(`/api/v1/debts/${encodeURIComponent(id)}`).set(c.auth);
    expect(res.status, `${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as DebtBody;
  }

  it("balance_cents is today's B under the creditor's policy", async () => {
    // by hand (§3): P = 100000, d = 30, F = round(100000 × 1.5 %) = 1500, J = round(100000 × 0.75 % × 30/30) = 750
    expect((await get('B-1')).balance_cents).toBe(102_250);
    for (const id of ['B-1', 'B-2', 'B-3', 'B-4']) {
      const d = await get(id);
      expect(d.balance_cents, id).toBe(updatedBalance(d, policy, TODAY).balance_cents);
    }
    expect((await get('B-3')).balance_cents).toBe(5_000);
    const b2 = await get('B-2');
    expect(b2.balance_cents).not.toBe(updatedBalance(b2, (await t.request.get('/api/v1/policy').set((await seedCreditor(t)).auth)).body as Policy, TODAY).balance_cents);
  });

  it('counts credited_cents out of the principal, also in an agreement', async () => {
    await setDebt(t, c.creditorId, 'B-2', { creditedCents: 23_457 });
    const d = await get('B-2');
    expect(d.credited_cents).toBe(23_457);
    expect(d.balance_cents).toBe(updatedBalance({ amount_cents: 123_457, credited_cents: 23_457, due_date: '2024-02-29' }, policy, TODAY).balance_cents);
    await setDebt(t, c.creditorId, 'B-2', { status: 'in_agreement' });
    expect((await get('B-2')).balance_cents).toBe(d.balance_cents);
  });

  it('follows the clock: B grows day by day', async () => {
    const start = t.clock.now();
    try {
      t.clock.set(new Date('2026-12-23T12:00:00-03:00'));
      const d = await get('B-1');
      expect(d.balance_cents).toBe(updatedBalance(d, policy, '2026-12-23').balance_cents);
      expect(d.balance_cents).toBe(100_000 + 1_500 + 1_500);
    } finally {
      t.clock.set(start);
    }
  });

  it('is 0 once settled, withdrawn or prescribed', async () => {
    await setDebt(t, c.creditorId, 'B-3', { status: 'settled' });
    expect(await get('B-3')).toMatchObject({ status: 'settled', balance_cents: 0 });
    await setDebt(t, c.creditorId, 'B-4', { status: 'prescribed' });
    expect(await get('B-4')).toMatchObject({ status: 'prescribed', balance_cents: 0 });
    const withdrawn = await t.request.delete('/api/v1/debts/B-1').set(c.auth);
    expect(withdrawn.body).toMatchObject({ status: 'withdrawn', balance_cents: 0 });
    expect(await get('B-1')).toMatchObject({ status: 'withdrawn', withdrawn_reason: 'withdrawn', balance_cents: 0 });
  });

  it('any external_id, URL-encoded in the path', async () => {
    expect(await get('AB/12 ç#?')).toMatchObject({ external_id: 'AB/12 ç#?', amount_cents: 777 });
  });

  it('an unknown debt answers 404', async () => {
    for (const id of ['NOPE', 'b-1', 'B-1 ']) {
      const res = await t.request.get(`/api/v1/debts/${encodeURIComponent(id)}`).set(c.auth);
      expect(res.status, id).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});

describe('DELETE /api/v1/debts/{external_id}', () => {
  let c: SeededCreditor;
  beforeAll(async () => {
    c = await seedCreditor(t);
    expect((await put(c.auth, { debts: ['W-1', 'W-2', 'W-3', 'W-4', 'W-5'].map((id) => item(id)) })).body.imported).toBe(5);
  });

  it("with { reason: 'paid_elsewhere' } → 200, withdrawn", async () => {
    const res = await t.request.delete('/api/v1/debts/W-1').set(c.auth).send({ reason: 'paid_elsewhere' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ external_id: 'W-1', status: 'withdrawn', withdrawn_reason: 'paid_elsewhere', balance_cents: 0, amount_cents: 10_000 });
    expect(await debtRow(t, c.creditorId, 'W-1')).toMatchObject({ status: 'withdrawn', withdrawnReason: 'paid_elsewhere' });
  });

  it('without a body → 200, reason withdrawn', async () => {
    const res = await t.request.delete('/api/v1/debts/W-2').set(c.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ external_id: 'W-2', status: 'withdrawn', withdrawn_reason: 'withdrawn', balance_cents: 0 });
    const explicit = await t.request.delete('/api/v1/debts/W-5').set(c.auth).send({ reason: 'withdrawn' });
    expect(explicit.body).toMatchObject({ status: 'withdrawn', withdrawn_reason: 'withdrawn' });
  });

  it('409 while in an agreement; the debt stays as it was', async () => {
    await setDebt(t, c.creditorId, 'W-3', { status: 'in_agreement' });
    const before = await debtRow(t, c.creditorId, 'W-3');
    const res = await t.request.delete('/api/v1/debts/W-3').set(c.auth).send({ reason: 'paid_elsewhere' });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await debtRow(t, c.creditorId, 'W-3')).toEqual(before);
  });

  it('again on a withdrawn debt → 200, the first reason kept; a settled debt → 409', async () => {
    const again = await t.request.delete('/api/v1/debts/W-1').set(c.auth);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'withdrawn', withdrawn_reason: 'paid_elsewhere' });
    await setDebt(t, c.creditorId, 'W-5', { status: 'settled', withdrawnReason: null });
    expect((await t.request.delete('/api/v1/debts/W-5').set(c.auth)).status).toBe(409);
    expect((await debtRow(t, c.creditorId, 'W-5'))!.status).toBe('settled');
  });

  it('404 for an unknown debt; 422 for an unknown reason or field', async () => {
    expect((await t.request.delete('/api/v1/debts/NOPE').set(c.auth)).status).toBe(404);
    expect((await t.request.delete('/api/v1/debts/W-4').set(c.auth).send({ reason: 'paid' })).status).toBe(422);
    expect((await t.request.delete('/api/v1/debts/W-4').set(c.auth).send({ reason: 'withdrawn', note: 'x' })).status).toBe(422);
    expect((await debtRow(t, c.creditorId, 'W-4'))!.status).toBe('open');
  });

  it('a withdrawn debt is refused by later imports and batches', async () => {
    const res = await put(c.auth, { debts: [item('W-1', { amount_cents: 1 })] });
    expect(res.body).toEqual({ imported: 0, rejected: 1, errors: [{ index: 0, path: 'debts.0.external_id', message: 'dívida retirada: não pode ser alterada' }] });
    expect((await t.request.get('/api/v1/debts/W-1').set(c.auth)).body).toMatchObject({ status: 'withdrawn', amount_cents: 10_000 });
  });
});
