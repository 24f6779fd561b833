// Hostile input everywhere text goes in (CONTRACT §2, §4, §5, §6): SQL metacharacters,
// very long strings, Unicode tricks (RTL override, zero-width joiners, NUL, combining
// marks, emoji, lone surrogates), markup that would run if it were not escaped, path
// traversal, prototype pollution; then fast-check fuzzing through HTTP. Nothing answers a
// 5xx; what is accepted is stored and given back exactly; what a page shows is inert.
import { parse as parseCsv } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv, waitForImport } from '../helpers/imports.js';
import { errorsCsv } from '../helpers/portfolio.js';
import { creditorBody, seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { agent, chooseAndConfirm, createLink, csrfOf, insertDebts, newCpf, offersPage, openLink, rowsOf } from './portal-helpers.js';

const HOSTILE = {
  sql: "'; DROP TABLE debts; --",
  sqlQuote: "O'Brien \" OR 1=1 --",
  backslash: 'C:\\temp\\x\\ \\n \\u0000',
  dollar: '$1 $$ $2::text $tag$',
  zwj: 'Fam\u200dília\u200bSilva',
  combining: 'Jose\u0301 Z\u0351\u0334\u0360alg\u0489o',
  emoji: 'Maria 👩‍👩‍👧 💸 🇧🇷',
  script: '<script>alert(1)</script>',
  img: '"><img src=x onerror=alert(1)>',
} as const;
/** Refused wherever a name or a one-line text goes. */
const REFUSED = {
  rtl: 'abc\u202edcba',
  nul: 'a\u0000b',
} as const;
const LONE_SURROGATE = 'x\ud800y';

const NOT_5XX = (res: Response, what: string) => expect(res.status, `${what}: ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);

let t: TestApp;
let c: SeededCreditor;

beforeAll(async () => {
  t = await buildTestApp();
  c = await seedCreditor(t);
});
afterAll(async () => t?.close());

async function debtsTableIsThere(): Promise<void> {
  const rows = await rowsOf<{ n: number | string }>(t, sql`SELECT count(*) AS n FROM debts`);
  expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(0);
}

describe('JSON APIs', () => {
  it('profile: free text is kept exactly; control and bidi characters, NUL included, are a 422, never a 500', async () => {
    const base = (await t.request.get('/api/v1/profile').set(c.auth)).body as Record<string, unknown>;
    const { id: _id, financial_institution: _fi, phone: _phone, ...profile } = base;
    const put = (body: Record<string, unknown>) => t.request.put('/api/v1/profile').set(c.auth).send(body);
    for (const [what, value] of Object.entries(HOSTILE)) {
      for (const field of ['name', 'street', 'city', 'pix_key'] as const) {
        const body =
          field === 'street' || field === 'city'
            ? { ...profile, address: { ...(profile.address as object), [field]: value } }
            : { ...profile, [field]: value.slice(0, field === 'pix_key' ? 77 : 200) };
        const res = await put(body);
        expect(res.status, `${what} in ${field}: ${res.text}`).toBe(200);
        const back = (await t.request.get('/api/v1/profile').set(c.auth)).body;
        expect(field === 'street' || field === 'city' ? back.address[field] : back[field]).toBe(value.slice(0, field === 'pix_key' ? 77 : 200));
      }
    }
    for (const [what, value] of Object.entries(REFUSED)) {
      for (const [path, body] of [
        ['name', { ...profile, name: value }],
        ['address.street', { ...profile, address: { ...(profile.address as object), street: value } }],
        ['pix_key', { ...profile, pix_key: value }],
        ['email', { ...profile, email: `x${value}@example.com` }],
        ['document', { ...profile, document: `${String(profile.document)}${value}` }],
      ] as const) {
        const res = await put(body);
        expect(res.status, `${what} in ${path}: ${res.text}`).toBe(422);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect((res.body.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
      }
    }
    // A lone surrogate is either refused or stored as U+FFFD (UTF-8 cannot hold it); never a 500.
    const lone = await put({ ...profile, name: LONE_SURROGATE });
    expect([200, 422]).toContain(lone.status);
    if (lone.status === 200) expect(lone.body.name).toBe('x\ufffdy');
    // 1 MB in a field: within the body limit a 422, beyond it a 413.
    expect((await put({ ...profile, name: 'x'.repeat(1_000_000) })).status).toBe(422);
    expect((await put({ ...profile, name: 'x'.repeat(1_100_000) })).status).toBe(413);
    await debtsTableIsThere();
  });

  it('a NUL anywhere in the input (path, query, body, a key) is a 422 naming where, never a 500', async () => {
    const cases: Array<[string, Promise<Response>, string]> = [
      ['token body', t.request.post('/api/v1/auth/token').send({ client_id: 'qc_\u0000', client_secret: 'x' }), 'client_id'],
      ['token form', t.request.post('/api/v1/auth/token').type('form').send('grant_type=client_credentials&client_id=qc_%00&client_secret=x'), 'client_id'],
      ['admin body', t.request.post('/api/v1/admin/creditors').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(creditorBody({ name: 'Loja\u0000' })), 'name'],
      ['a key', t.request.put('/api/v1/policy').set(c.auth).send({ 'late\u0000fine': 1 }), 'late\u0000fine'],
      ['debt id', t.request.get('/api/v1/debts/%00').set(c.auth), 'external_id'],
      ['debt id inside', t.request.delete('/api/v1/debts/a%00b').set(c.auth), 'external_id'],
      ['endpoint id', t.request.get('/api/v1/webhook-endpoints/we_%00').set(c.auth), 'id'],
      ['event id', t.request.post('/api/v1/events/evt_%00/redeliver').set(c.auth), 'id'],
      ['credential id', t.request.delete('/api/v1/credentials/qc_%00').set(c.auth), 'client_id'],
      ['query', t.request.get('/api/v1/events?type=%00').set(c.auth), 'type'],
      ['webhook URL', t.request.post('/api/v1/webhook-endpoints').set(c.auth).send({ url: 'https://example.com/\u0000' }), 'url'],
      ['redeliver body', t.request.post('/api/v1/events/evt_x/redeliver').set(c.auth).send({ endpoint_id: 'we_\u0000' }), 'endpoint_id'],
    ];
    for (const [what, pending, path] of cases) {
      const res = await pending;
      expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((res.body.errors as Array<{ path: string }>).map((e) => e.path), what).toContain(path);
    }
    // A portal page answers with a page, not a stack trace.
    const page = await agent(t).get('/acordos/%00');
    expect([400, 401, 404, 422]).toContain(page.status);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('PUT /api/v1/debts: hostile names, descriptions and ids are kept exactly or rejected item by item', async () => {
    const cpf = newCpf();
    const values = Object.entries(HOSTILE);
    const items: Record<string, unknown>[] = [
      ...values.map(([what, value]) => ({ external_id: `H-${what}`, cpf, name: value, amount_cents: 1_000, due_date: '2026-10-01', description: value })),
      { external_id: HOSTILE.sql, cpf, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: '../../etc/passwd', cpf, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: 'H-rtl', cpf, name: REFUSED.rtl, amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: 'H-nul', cpf, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01', description: REFUSED.nul },
      { external_id: REFUSED.nul, cpf, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: 'H-long', cpf, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01', description: 'x'.repeat(900_000) },
      { external_id: 'H-lone', cpf, name: LONE_SURROGATE, amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: 'H-cpf', cpf: HOSTILE.sql, name: 'Ana', amount_cents: 1_000, due_date: '2026-10-01' },
      { external_id: 'H-date', cpf, name: 'Ana', amount_cents: 1_000, due_date: "2026-10-01'; --" },
      { external_id: 'H-amount', cpf, name: 'Ana', amount_cents: '1000; DROP TABLE debts', due_date: '2026-10-01' },
    ];
    const res = await t.request.put('/api/v1/debts').set(c.auth).send({ debts: items });
    expect(res.status, res.text.slice(0, 500)).toBe(200);
    const rejected = new Set((res.body.errors as Array<{ index: number }>).map((e) => e.index));
    const indexOf = (id: string) => items.findIndex((i) => i.external_id === id);
    for (const id of ['H-rtl', 'H-nul', REFUSED.nul, 'H-long', 'H-cpf', 'H-date', 'H-amount']) expect(rejected.has(indexOf(id)), id).toBe(true);
    for (const [what, value] of values) {
      expect(rejected.has(indexOf(`H-${what}`)), what).toBe(false);
      const one = await t.request.get(`/api/v1/debts/${encodeURIComponent(`H-${what}`)}`).set(c.auth);
      expect(one.status).toBe(200);
      expect(one.body, what).toMatchObject({ name: value, description: value });
    }
    for (const id of [HOSTILE.sql, '../../etc/passwd']) {
      const one = await t.request.get(`/api/v1/debts/${encodeURIComponent(id)}`).set(c.auth);
      expect(one.status, id).toBe(200);
      expect(one.body.external_id).toBe(id);
    }
    if (!rejected.has(indexOf('H-lone'))) {
      expect((await t.request.get('/api/v1/debts/H-lone').set(c.auth)).body.name).toBe('x\ufffdy');
    }
    // The filters take hostile values as values.
    for (const q of [`cpf=${encodeURIComponent(HOSTILE.sql)}`, `status=${encodeURIComponent(HOSTILE.sql)}`, `cursor=${encodeURIComponent(HOSTILE.sql)}`, 'cpf=%00', 'limit=1%00']) {
      const list = await t.request.get(`/api/v1/debts?${q}`).set(c.auth);
      expect(list.status, q).toBe(422);
    }
    await debtsTableIsThere();
  });

  it('webhook endpoint URLs: only http(s), never a 500', async () => {
    const w = await seedCreditor(t);
    const cases: Array<[string, number[]]> = [
      [`https://example.com/${encodeURIComponent(HOSTILE.sql)}`, [201]],
      ["https://example.com/'; DROP TABLE webhook_endpoints; --", [201, 422]],
      ['https://example.com/<script>alert(1)</script>', [201, 422]],
      ['https://example.com/\u202e/moc.live', [201, 422]],
      [`https://example.com/${LONE_SURROGATE}`, [201, 422]],
      ['https://exa\u202emple.com/', [422]],
      ['https://example.com/a\u0000b', [422]],
      ['javascript:alert(1)', [422]],
      ['data:text/html,<script>alert(1)</script>', [422]],
      ['file:///etc/passwd', [422]],
      ['https://user:pass@example.com/', [422]],
      [`https://example.com/${'a'.repeat(1_000_000)}`, [413, 422]],
      [HOSTILE.sql, [422]],
    ];
    for (const [url, expected] of cases) {
      const res = await t.request.post('/api/v1/webhook-endpoints').set(w.auth).send({ url });
      expect(expected, `${url.slice(0, 60)} → ${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
      if (res.status === 201) {
        expect(res.body.url).toBe(url.trim().replace(/\ud800/g, '\ufffd'));
        expect((await t.request.delete(`/api/v1/webhook-endpoints/${res.body.id}`).set(w.auth)).status).toBe(204);
      }
    }
    const events = await t.request.post('/api/v1/webhook-endpoints').set(w.auth).send({ url: 'https://example.com/h', events: [HOSTILE.sql, REFUSED.nul] });
    expect(events.status).toBe(422);
  });

  it('links: a hostile CPF or ttl is a 422', async () => {
    for (const body of [
      { cpf: HOSTILE.sql },
      { cpf: REFUSED.nul },
      { cpf: `${newCpf()}\u0000` },
      { cpf: 'x'.repeat(1_000_000) },
      { cpf: newCpf(), ttl_hours: '1; DROP TABLE debtor_links' },
      { cpf: newCpf(), ttl_hours: 1e308 },
      { cpf: [newCpf()] },
    ]) {
      const res = await t.request.post('/api/v1/links').set(c.auth).send(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
    }
  });

  it('a CPF typed in another column never comes back whole in an error message', async () => {
    const cpf = newCpf();
    const formatted = `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`;
    const res = await t.request
      .put('/api/v1/debts')
      .set(c.auth)
      .send({ debts: [{ external_id: 'CPF-ELSEWHERE', cpf: newCpf(), name: 'Ana', email: formatted, phone: cpf, amount_cents: 1_000, due_date: formatted }] });
    expect(res.status).toBe(200);
    expect(res.body.rejected).toBe(1);
    expect(res.text).not.toContain(cpf);
    expect(res.text).not.toContain(formatted);
    const csv = await importCsv(t, c.auth, `external_id;cpf;nome;email;telefone;valor;vencimento\nX-1;${newCpf()};Ana;${formatted};${cpf};${formatted};${cpf}\n`);
    expect(csv.rows_rejected).toBe(1);
    expect(JSON.stringify(csv.errors)).not.toContain(cpf);
    expect(JSON.stringify(csv.errors)).not.toContain(formatted);
    const report = (await errorsCsv(t, c.auth, csv.id)).body.toString('utf8');
    expect(report).not.toContain(cpf);
    expect(report).not.toContain(formatted);
  });
});

describe('CSV imports and errors.csv', () => {
  it('hostile cells are kept exactly or rejected; errors.csv stays three inert columns', async () => {
    const cpf = newCpf();
    const q = (value: string) => `"${value.replace(/"/g, '""')}"`;
    const rows = [
      ...Object.entries(HOSTILE).map(([what, value]) => `C-${what};${cpf};${q(value)};10,00;01/10/2026;${q(value)}`),
      `C-rtl;${cpf};${q(REFUSED.rtl)};10,00;01/10/2026;`,
      `C-bidi;${cpf};Ana;10,00;01/10/2026;${q(`x${REFUSED.rtl}`)}`,
      `C-formula;${cpf};Ana;=HYPERLINK("http://evil.example.com","x");01/10/2026;`,
      `C-plus;${cpf};Ana;+1+1;@SUM(1);-1`,
      `${q('=cmd|\' /C calc\'!A0')};${cpf};Ana;10,00;01/10/2026;`,
      `${q('=cmd|\' /C calc\'!A0')};${cpf};Ana;10,00;01/10/2026;`,
      `C-quote;${cpf};Ana;"1;0""0";01/10/2026;`,
    ];
    const file = `external_id;cpf;nome;valor;vencimento;descricao\n${rows.join('\n')}\n`;
    const result = await importCsv(t, c.auth, file);
    expect(result.status).toBe('completed');
    for (const [what, value] of Object.entries(HOSTILE)) {
      const one = await t.request.get(`/api/v1/debts/C-${what}`).set(c.auth);
      expect(one.status, what).toBe(200);
      expect(one.body, what).toMatchObject({ name: value, description: value });
    }
    const rejectedLines = new Set(result.errors.map((e) => e.line));
    for (const line of [11, 12, 13, 14, 16, 17]) expect(rejectedLines.has(line), `line ${line}`).toBe(true);
    // A NUL byte makes the file not a CSV at all: it fails as a whole, with a reason.
    const withNul = await importCsv(t, c.auth, `external_id;cpf;nome;valor;vencimento\nC-nul;${cpf};${REFUSED.nul};10,00;01/10/2026\n`);
    expect(withNul.status).toBe('failed');
    expect(withNul.error).toEqual(expect.any(String));

    const report = await errorsCsv(t, c.auth, result.id);
    expect(report.status).toBe(200);
    expect(report.type).toMatch(/^text\/csv/);
    const text = report.body.toString('utf8');
    expect(text.startsWith('\ufeffline;column;message\r\n')).toBe(true);
    const records = parseCsv(text.slice(1), { delimiter: ';', relax_column_count: false }) as string[][];
    expect(records[0]).toEqual(['line', 'column', 'message']);
    expect(records.length - 1).toBe(result.errors.length);
    for (const record of records.slice(1)) {
      expect(record).toHaveLength(3);
      expect(record[0]).toMatch(/^\d+$/);
      // A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula.
      for (const cell of record) expect(cell, JSON.stringify(record)).not.toMatch(/^[=+\-@\t\r]/);
    }
    const headers = await t.request.get(`/api/v1/imports/${result.id}/errors.csv`).set(c.auth);
    expect(headers.headers['content-disposition']).toMatch(/^attachment;/);
    expect(headers.headers['x-content-type-options']).toBe('nosniff');
  });

  it('hostile markup in names and descriptions is escaped on every portal page', async () => {
    const p = await seedCreditor(t);
    const profile = (await t.request.get('/api/v1/profile').set(p.auth)).body as Record<string, unknown>;
    const { id: _id, financial_institution: _fi, ...rest } = profile;
    const renamed = await t.request
      .put('/api/v1/profile')
      .set(p.auth)
      .send({ ...rest, phone: undefined, name: HOSTILE.script, address: { ...(rest.address as object), street: HOSTILE.img, city: `${HOSTILE.sql}</p>` } });
    expect(renamed.status, renamed.text).toBe(200);
    const cpf = newCpf();
    const debts = await insertDebts(t, p.creditorId, cpf, [{ description: HOSTILE.img, externalId: `<b>${HOSTILE.script}</b>` }, { description: HOSTILE.script }]);
    const link = await createLink(t, p, cpf);
    const a = agent(t);
    expect((await openLink(a, link.token, cpf)).status).toBe(303);
    const pages: Array<[string, string]> = [];
    pages.push(['/dividas', (await a.get('/dividas')).text]);
    const { res, offers } = await offersPage(a, debts.map((d) => d.id));
    pages.push(['/ofertas', res.text]);
    pages.push(['/privacidade', (await a.get('/privacidade')).text]);
    const chosen = await a.post('/ofertas/escolher').type('form').send({ _csrf: offers[0]!.csrf, oferta: offers[0]!.id, h: offers[0]!.hash });
    pages.push(['confirm', (await a.get(chosen.headers.location as string)).text]);
    const done = await chooseAndConfirm(a, offers[0]!);
    const agreementPath = done.headers.location as string;
    pages.push([agreementPath, (await a.get(agreementPath)).text]);
    pages.push(['receipt', (await a.get(`${agreementPath}/comprovante`)).text]);
    const pay = await a.get(`${agreementPath}/pagar`);
    if (pay.status === 200) pages.push(['pay', pay.text]);
    for (const [where, html] of pages) {
      expect(html, where).not.toContain('<script>alert(1)');
      expect(html, where).not.toContain('<img src=x');
      expect(html, where).not.toMatch(/<img[^>]*onerror/i);
      expect(html, where).not.toContain('<b>');
      // No inline script at all (a <script src> of our own is allowed by the CSP, and is not data).
      expect(html.match(/<script(?![^>]*\bsrc="\/static\/)/gi) ?? [], where).toEqual([]);
      expect(html, where).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    // The portal never echoes a hostile value it was sent.
    for (const path of [`/ofertas?debts=${encodeURIComponent(HOSTILE.script)}&vencimento=${encodeURIComponent(HOSTILE.img)}`, `/ofertas?debts=${debts[0]!.id}&vencimento=${encodeURIComponent(HOSTILE.img)}`, `/acordos/${encodeURIComponent(HOSTILE.script)}`]) {
      const page = await a.get(path);
      NOT_5XX(page, path);
      expect(page.text).not.toContain('<img src=x');
      expect(page.text).not.toContain('<script>alert');
    }
  });
});

describe('portal forms', () => {
  it('the access form takes any CPF text as a wrong one, echoes nothing, and never fails', async () => {
    const p = await seedCreditor(t);
    const cpf = newCpf();
    await insertDebts(t, p.creditorId, cpf, [{}]);
    const link = await createLink(t, p, cpf);
    const a = agent(t);
    const page = await a.get(`/a/${link.token}`);
    const csrf = csrfOf(page.text);
    for (const value of [...Object.values(HOSTILE), ...Object.values(REFUSED), LONE_SURROGATE]) {
      const res = await a.post(`/a/${link.token}`).type('form').send({ _csrf: csrf, cpf: value });
      expect([401, 422], value).toContain(res.status);
      expect(res.text).not.toContain('<img src=x');
      expect(res.text).not.toContain('<script>alert');
      expect(res.text).not.toContain('DROP TABLE');
      // Each wrong try counts: reset the lock so the next one is judged on its own.
      await t.database.db.execute(sql`UPDATE debtor_links SET failed_attempts = 0, locked_until = NULL, lockouts = 0 WHERE id = ${link.id}`);
    }
    expect((await a.post(`/a/${link.token}`).type('form').send({ _csrf: csrf, cpf: 'x'.repeat(1_000_000) })).status).toBe(413);
    // Hostile tokens are an unknown link like any other.
    for (const token of [HOSTILE.sql, '..%2F..%2Fetc%2Fpasswd', '%00', 'a'.repeat(100), `${link.token}'--`]) {
      const res = await agent(t).get(`/a/${encodeURIComponent(token)}`);
      NOT_5XX(res, token);
    }
    // The right CPF still opens it (nothing above locked or broke the link).
    expect((await openLink(agent(t), link.token, cpf)).status).toBe(303);
  });

  it('hostile offer ids and hashes are a refusal page, never a 500', async () => {
    const p = await seedCreditor(t);
    const cpf = newCpf();
    await insertDebts(t, p.creditorId, cpf, [{}]);
    const link = await createLink(t, p, cpf);
    const a = agent(t);
    expect((await openLink(a, link.token, cpf)).status).toBe(303);
    const csrf = csrfOf((await a.get('/dividas')).text);
    for (const value of [HOSTILE.sql, REFUSED.nul, HOSTILE.img, '../../etc/passwd', '00000000-0000-0000-0000-000000000000', 'x'.repeat(10_000)]) {
      const chosen = await a.post('/ofertas/escolher').type('form').send({ _csrf: csrf, oferta: value, h: value });
      NOT_5XX(chosen, `escolher ${value.slice(0, 20)}`);
      expect(chosen.text).not.toContain('<img src=x');
      const confirm = await a.post(`/ofertas/${encodeURIComponent(value.slice(0, 90))}/confirmar`).type('form').send({ _csrf: csrf, h: value, aceite: 'sim' });
      NOT_5XX(confirm, `confirmar ${value.slice(0, 20)}`);
      const view = await a.get(`/ofertas/${encodeURIComponent(value.slice(0, 90))}`);
      NOT_5XX(view, `oferta ${value.slice(0, 20)}`);
    }
  });
});

describe('list cursors', () => {
  it('a forged cursor on any list of the document is a 422 (or harmless), never a 500', async () => {
    const doc = (await t.request.get('/docs/json')).body as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> };
    const lists = Object.entries(doc.paths)
      .filter(([path, item]) => path.startsWith('/api/v1/') && item.get?.parameters?.some((p) => p.in === 'query' && p.name === 'cursor'))
      .map(([path]) => path);
    expect(lists.length).toBeGreaterThanOrEqual(6);
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const uuid = '00000000-0000-4000-8000-000000000000';
    const cursors = [
      b64(['2026-01-01T00:00:00.000Z', 'a\u0000b']),
      b64(['2026-01-01T00:00:00.000Z', "x' OR 1=1 --"]),
      b64(['2026-01-01T00:00:00.000Z', 'not-a-uuid']),
      b64(['+275760-09-13T00:00:00.000Z', uuid]),
      b64(['-000001-01-01T00:00:00.000Z', uuid]),
      b64(['2026-01-01T00:00:00.000Z', 'x'.repeat(10_000)]),
      b64([1e300, uuid]),
      b64({ createdAt: '2026-01-01', id: uuid }),
      b64('d:1\u0000'),
      b64('d:99999999999999999999'),
      b64('d:-1'),
      '%00',
      HOSTILE.sql,
      'x'.repeat(190),
    ];
    const failures: string[] = [];
    for (const path of lists) {
      for (const cursor of cursors) {
        const res = await t.request.get(`${path}?cursor=${encodeURIComponent(cursor)}`).set(c.auth);
        if (res.status !== 422 && res.status !== 200) failures.push(`${path} cursor=${cursor.slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });
});

describe('paths and prototypes', () => {
  it('path traversal in parameters reaches no file and no other route', async () => {
    const paths = [
      '/api/v1/debts/..%2f..%2fprofile',
      '/api/v1/debts/%2e%2e',
      '/api/v1/debts/%2e%2e%2f%2e%2e%2fpackage.json',
      '/api/v1/imports/..%2f..%2fetc%2fpasswd/errors.csv',
      '/api/v1/webhook-endpoints/..%2f..%2fprofile',
      '/api/v1/events/%2e%2e%5c%2e%2e%5cpackage.json',
      '/api/v1/agreements/..%252f..%252fprofile',
      '/acordos/..%2f..%2fpackage.json/comprovante',
      '/static/..%2f..%2fpackage.json',
      '/static/%2e%2e/%2e%2e/package.json',
      '/docs/static/..%2f..%2f..%2fpackage.json',
      '/docs/static/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/docs/static/....//....//package.json',
    ];
    for (const path of paths) {
      const res = await t.request.get(path).set(c.auth);
      NOT_5XX(res, path);
      expect(res.status, path).not.toBe(200);
      expect(res.text, path).not.toMatch(/"name":\s*"quita"|root:x:0:0|"dependencies"/);
      if (path.startsWith('/api/')) expect([404, 422], path).toContain(res.status);
    }
  });

  it('a prototype-pollution body is a 422 naming the key, and pollutes nothing', async () => {
    const profile = (await t.request.get('/api/v1/profile').set(c.auth)).body as Record<string, unknown>;
    const { id: _id, financial_institution: _fi, phone: _phone, ...valid } = profile;
    const bodies: Array<[string, string, string]> = [
      ['/api/v1/profile', '{"__proto__": {"x": 1}}', '__proto__'],
      ['/api/v1/profile', JSON.stringify(valid).replace(/^\{/, '{"__proto__": {"polluted": true},'), '__proto__'],
      ['/api/v1/profile', JSON.stringify(valid).replace(/^\{/, '{"constructor": {"prototype": {"polluted": true}},'), 'constructor.prototype'],
      ['/api/v1/profile', JSON.stringify({ ...valid, address: { ...(valid.address as object) } }).replace('"address":{', '"address":{"__proto__":{"polluted":true},'), 'address.__proto__'],
      ['/api/v1/profile', '{"\\u005f\\u005fproto\\u005f\\u005f": {"polluted": true}}', '__proto__'],
      ['/api/v1/debts', '{"debts": [{"__proto__": {"polluted": true}, "external_id": "P-1"}]}', 'debts.0.__proto__'],
      ['/api/v1/simulate', '{"debts": [{"amount_cents": 100, "due_date": "2026-01-01"}], "policy": {"constructor": {"prototype": {"polluted": true}}}}', 'policy.constructor.prototype'],
    ];
    for (const [path, body, key] of bodies) {
      const method = path === '/api/v1/simulate' ? 'post' : 'put';
      const res = await t.request[method](path).set(c.auth).set('content-type', 'application/json').send(body);
      expect(res.status, `${path} ${body.slice(0, 60)}: ${res.text}`).toBe(422);
      expect((res.body.errors as Array<{ path: string }>).map((e) => e.path), body.slice(0, 60)).toContain(key);
    }
    // Forms (the portal) and queries turn such keys into plain data.
    await t.request.post('/sair').type('form').send('__proto__[polluted]=1&constructor[prototype][polluted]=1');
    await t.request.get('/api/v1/debts?__proto__[polluted]=1&constructor[prototype][polluted]=1').set(c.auth);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect((await t.request.get('/api/v1/profile').set(c.auth)).body).toEqual(profile);
  });
});

describe('fuzzing through HTTP', () => {
  const hostileText = fc.oneof(
    fc.constantFrom(...Object.values(HOSTILE), ...Object.values(REFUSED), LONE_SURROGATE, '', ' ', '2026-02-30', '01/10/2026', '529.982.247-25', '1.234,56'),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 10 }),
  );
  const anyValue = fc.oneof(hostileText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

  it('random JSON bodies to PUT /api/v1/debts never answer a 5xx', async () => {
    const item = fc.oneof(
      fc.record(
        {
          external_id: fc.oneof(hostileText, fc.string({ minLength: 1, maxLength: 8 })),
          cpf: fc.oneof(hostileText, fc.constant(newCpf())),
          name: anyValue,
          email: anyValue,
          phone: anyValue,
          amount_cents: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 63), hostileText),
          due_date: fc.oneof(hostileText, fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))),
          description: anyValue,
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const body = fc.oneof({ weight: 6, arbitrary: fc.record({ debts: fc.array(item, { minLength: 0, maxLength: 6 }) }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
    await fc.assert(
      // Two bodies a run, sent together: 200 bodies, and the server busy with two at a time.
      fc.asyncProperty(fc.array(body, { minLength: 2, maxLength: 2 }), async (bodies) => {
        await Promise.all(
          bodies.map(async (b) => {
            const res = await t.request.put('/api/v1/debts').set(c.auth).set('content-type', 'application/json').send(JSON.stringify(b));
            expect(res.status, `${JSON.stringify(b).slice(0, 300)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
            expect([200, 400, 413, 415, 422]).toContain(res.status);
          }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('random JSON bodies to POST /api/v1/simulate never answer a 5xx', async () => {
    const date = fc.oneof(hostileText, fc.date({ min: new Date('1890-01-01'), max: new Date('3010-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)));
    const pct = fc.oneof(fc.double({ min: -5, max: 120, noNaN: true }), fc.integer({ min: -1, max: 100 }), fc.constantFrom(0, 0.01, 1, 2, 20, 99.99), anyValue);
    const policy = fc.record(
      {
        late_fine_pct: pct,
        monthly_interest_pct: pct,
        installment_monthly_rate_pct: pct,
        max_installments: fc.oneof(fc.integer({ min: -1, max: 80 }), anyValue),
        min_installment_cents: fc.oneof(fc.integer({ min: -1, max: 10_000_000 }), anyValue),
        first_due_max_days: fc.oneof(fc.integer({ min: -1, max: 40 }), anyValue),
        offer_validity_hours: fc.oneof(fc.integer({ min: 0, max: 800 }), anyValue),
        break_after_days: fc.oneof(fc.integer({ min: 0, max: 200 }), anyValue),
        bands: fc.oneof(
          fc.array(fc.record({ min_days_overdue: fc.oneof(fc.integer({ min: -1, max: 5000 }), anyValue), cash_discount_pct: pct, installment_discount_pct: pct }, { requiredKeys: [] }), { maxLength: 4 }),
          anyValue,
        ),
      },
      { requiredKeys: [] },
    );
    const debt = fc.oneof(
      fc.record({ amount_cents: fc.oneof(fc.integer({ min: -10, max: Number.MAX_SAFE_INTEGER }), fc.double(), anyValue), due_date: date, credited_cents: fc.oneof(fc.integer({ min: -10, max: 10_000_000 }), anyValue) }, { requiredKeys: [] }),
      anyValue,
    );
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.record({ debts: fc.oneof(fc.array(debt, { maxLength: 4 }), anyValue), as_of: date, first_due_date: date, policy: fc.oneof(policy, anyValue) }, { requiredKeys: ['debts'] }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    );
    await fc.assert(
      // Two bodies a run, sent together: 200 bodies, and the server busy with two at a time.
      fc.asyncProperty(fc.array(body, { minLength: 2, maxLength: 2 }), async (bodies) => {
        await Promise.all(
          bodies.map(async (b) => {
            const res = await t.request.post('/api/v1/simulate').set(c.auth).set('content-type', 'application/json').send(JSON.stringify(b));
            expect(res.status, `${JSON.stringify(b).slice(0, 400)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
            expect([200, 400, 413, 415, 422]).toContain(res.status);
          }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('random bytes as a CSV import always finish, completed or failed, never a 5xx', async () => {
    const cpf = newCpf();
    const cell = fc.oneof(fc.constantFrom(cpf, '10,00', '01/10/2026', '2026-10-01', 'Ana', '"', '""', ';', ',', '\n', '\r\n', '\u0000', '\u202e', '=1+1', 'ç', '\xe7'), fc.string({ unit: 'binary', maxLength: 12 }));
    const csvish = fc
      .tuple(fc.constantFrom('external_id;cpf;nome;valor;vencimento', 'external_id,cpf,name,amount,due_date,description', 'a;b', '', '\ufeffcodigo;CPF;Nome;Valor;Vencimento'), fc.array(fc.array(cell, { maxLength: 7 }), { maxLength: 6 }), fc.constantFrom(';', ','))
      .map(([header, rows, sep]) => Buffer.from(`${header}\n${rows.map((r) => r.join(sep)).join('\n')}`, 'utf8'));
    const bytes = fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u));
    const file = fc.oneof(csvish, bytes, csvish.map((b) => Buffer.concat([b, Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x8d])])));
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 4, maxLength: 4 }), fc.boolean(), async (files, dryRun) => {
        await Promise.all(
          files.map(async (body) => {
            const res = await t.request
              .post(`/api/v1/imports${dryRun ? '?dry_run=true' : ''}`)
              .set(c.auth)
              .set('content-type', 'text/csv')
              .send(body);
            expect(res.status, `${body.toString('base64')} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
            if (res.status !== 202) return;
            const done = await waitForImport(t, c.auth, res.body.id as string, 15_000);
            expect(['completed', 'failed'], body.toString('base64')).toContain(done.status);
          }),
        );
      }),
      { numRuns: 25 },
    );
    const stuck = await rowsOf<{ n: number | string }>(t, sql`SELECT count(*) AS n FROM imports WHERE status = 'processing'`);
    expect(Number(stuck[0]!.n)).toBe(0);
  });
});
