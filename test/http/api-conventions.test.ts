// CONTRACT §4 conventions: problem+json errors and their status codes, Idempotency-Key,
// and 5xx answers that hide what went wrong.
import { PassThrough } from 'node:stream';
import { and, count, eq, sql } from 'drizzle-orm';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditorCredentials, creditors, idempotencyKeys } from '../../src/db/schema/index.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { creditorBody, seedCreditor, type SeededCreditor } from '../helpers/seed.js';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

function expectProblem(res: Response, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Object.keys(res.body).sort()).toEqual(['detail', 'errors', 'status', 'title', 'type']);
  expect(res.body.status).toBe(status);
  for (const field of ['type', 'title', 'detail'] as const) expect(res.body[field]).toEqual(expect.any(String));
  expect(Array.isArray(res.body.errors)).toBe(true);
}

function fieldPaths(res: Response): string[] {
  return (res.body.errors as Array<{ path: string; message: string }>).map((e) => e.path);
}

/** A logger that writes JSON lines to memory. */
function memoryLogger() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return {
    logger: { level: 'info', stream },
    lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}

async function creditorCount(t: TestApp, document?: string): Promise<number> {
  const [row] = await t.database.db
    .select({ n: count() })
    .from(creditors)
    .where(document ? eq(creditors.document, document) : undefined);
  return row!.n;
}

let t: TestApp;
let c: SeededCreditor;
const log = memoryLogger();

beforeAll(async () => {
  t = await buildTestApp({ logger: log.logger });
  c = await seedCreditor(t);
});
afterAll(async () => t.close());

describe('errors', () => {
  it('malformed JSON answers 400', async () => {
    for (const body of ['{"name": ', '{name: "x"}', "{'a': 1}", '[1, 2', 'undefined']) {
      const res = await t.request.post('/api/v1/admin/creditors').set(admin).set('content-type', 'application/json').send(body);
      expectProblem(res, 400);
    }
    const put = await t.request.put('/api/v1/profile').set(c.auth).set('content-type', 'application/json').send('{"name": "x",}');
    expectProblem(put, 400);
  });

  it('an empty JSON body answers 400', async () => {
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).set('content-type', 'application/json').send('');
    expectProblem(res, 400);
  });

  it('a wrong content type answers 415', async () => {
    const body = JSON.stringify(creditorBody());
    for (const type of ['text/plain', 'application/xml', 'text/csv', 'application/octet-stream']) {
      const res = await t.request.post('/api/v1/admin/creditors').set(admin).set('content-type', type).send(body);
      expectProblem(res, 415);
    }
    expectProblem(await t.request.put('/api/v1/profile').set(c.auth).set('content-type', 'text/plain').send(body), 415);
    expect(await creditorCount(t)).toBe(1);
  });

  it('a body over 1 MiB answers 413', async () => {
    const big = JSON.stringify({ ...creditorBody(), name: 'x'.repeat(1024 * 1024) });
    expectProblem(await t.request.post('/api/v1/admin/creditors').set(admin).set('content-type', 'application/json').send(big), 413);
    const form = `client_id=${'x'.repeat(1024 * 1024)}&client_secret=y`;
    expectProblem(await t.request.post('/api/v1/auth/token').type('form').send(form), 413);
  });

  it('unknown body fields answer 422 naming the field', async () => {
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).send({ ...creditorBody(), is_admin: true });
    expectProblem(res, 422);
    expect(fieldPaths(res)).toEqual(['is_admin']);
    const token = await t.request.post('/api/v1/auth/token').send({ client_id: c.clientId, client_secret: c.clientSecret, scope: 'all' });
    expectProblem(token, 422);
    expect(fieldPaths(token)).toEqual(['scope']);
  });

  it('an invalid CPF or CNPJ answers 422 with its path, never echoing it', async () => {
    for (const document of ['529.982.247-24', '52998224726', '000.000.000-00', '11.222.333/0001-80', '12.ABC.345/01DE-36']) {
      const res = await t.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document }));
      expectProblem(res, 422);
      expect(fieldPaths(res)).toEqual(['document']);
      expect(res.text).not.toContain(document);
      expect(res.text).not.toContain(document.replace(/\W/g, ''));
    }
  });

  it('an unknown /api route answers 404 problem+json; other paths an HTML page', async () => {
    expectProblem(await t.request.get('/api/v1/nothing-here'), 404);
    expectProblem(await t.request.post('/api/v1/profile').set(c.auth).send({}), 404);
    const page = await t.request.get('/nothing-here');
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<html/i);
    expect(page.text).toContain('Página não encontrada');
  });

  it('a 404 never echoes a CPF from the path or the query', async () => {
    for (const path of ['/api/v1/debtors/529.982.247-25', '/api/v1/debtors/52998224725', '/api/v1/x?cpf=52998224725', '/consulta/52998224725']) {
      const res = await t.request.get(path);
      expect(res.status).toBe(404);
      expect(res.text, path).not.toMatch(/529\.?982\.?247-?25/);
    }
  });

  it('a malformed URL answers 400 like any other error, without echoing it', async () => {
    const api = await t.request.get('/api/v1/%zz529.982.247-25');
    expectProblem(api, 400);
    expect(api.text).not.toMatch(/529\.?982\.?247-?25/);
    const page = await t.request.get('/%zz529.982.247-25');
    expect(page.status).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/529\.?982\.?247-?25/);
  });

  it('an over-long path parameter answers 414 problem+json', async () => {
    const res = await t.request.delete(`/api/v1/credentials/${'x'.repeat(300)}`).set(c.auth);
    expectProblem(res, 414);
    expect(res.text).not.toContain('x'.repeat(50));
  });

  it('401 and 404 answers look the same for a missing and another creditor’s resource', async () => {
    const other = await seedCreditor(t);
    const theirs = await t.request.delete(`/api/v1/credentials/${other.clientId}`).set(c.auth);
    const nobody = await t.request.delete('/api/v1/credentials/qc_nobody').set(c.auth);
    expectProblem(theirs, 404);
    expectProblem(nobody, 404);
    expect(theirs.body).toEqual(nobody.body);
  });
});

describe('Idempotency-Key', () => {
  it('the same key and body return the first response and create nothing new', async () => {
    const body = creditorBody();
    const first = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-1').send(body);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const before = await creditorCount(t);
    for (let i = 0; i < 2; i++) {
      const again = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-1').send(body);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers['content-type']).toMatch(/^application\/json/);
      expect(again.body).toEqual(first.body);
    }
    expect(await creditorCount(t)).toBe(before);
    expect(await creditorCount(t, body.document)).toBe(1);
  });

  it('the same key with another body answers 422 and does nothing', async () => {
    const body = creditorBody();
    expect((await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-2').send(body)).status).toBe(201);
    const before = await creditorCount(t);
    const other = creditorBody();
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-2').send(other);
    expectProblem(res, 422);
    expect(fieldPaths(res)).toEqual(['Idempotency-Key']);
    expect(await creditorCount(t)).toBe(before);
    expect(await creditorCount(t, other.document)).toBe(0);
  });

  it('the same body written differently is the same request', async () => {
    const body = creditorBody();
    const first = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-3').send(body);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-3').send(reordered);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
  });

  it('a request refused before it ran does not use up the key', async () => {
    const body = creditorBody();
    const invalid = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-4').send({ ...body, email: 'nope' });
    expectProblem(invalid, 422);
    const valid = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'create-4').send(body);
    expect(valid.status).toBe(201);
    expect(valid.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses a key longer than 255 characters', async () => {
    const res = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'k'.repeat(256)).send(creditorBody());
    expectProblem(res, 422);
  });

  it('keys belong to one creditor: another creditor’s same key is independent', async () => {
    const d = await seedCreditor(t);
    const mine = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'new-credential');
    const theirs = await t.request.post('/api/v1/credentials').set(d.auth).set('Idempotency-Key', 'new-credential');
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.client_id).not.toBe(mine.body.client_id);
    const mineAgain = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'new-credential');
    expect(mineAgain.headers['idempotent-replayed']).toBe('true');
    expect(mineAgain.body).toEqual(mine.body);
    const [owner] = await t.database.db.select({ creditorId: creditorCredentials.creditorId }).from(creditorCredentials).where(eq(creditorCredentials.clientId, theirs.body.client_id));
    expect(owner!.creditorId).toBe(d.creditorId);
    // The admin's key space is apart from the creditors'.
    const byAdmin = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'new-credential').send(creditorBody());
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a key older than 24 h acts anew', async () => {
    const start = t.clock.now();
    try {
      const first = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'daily');
      t.clock.set(new Date(start.getTime() + 23 * 3600_000));
      const within = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'daily');
      expect(within.headers['idempotent-replayed']).toBe('true');
      expect(within.body.client_id).toBe(first.body.client_id);
      t.clock.set(new Date(start.getTime() + 25 * 3600_000));
      const later = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'daily');
      expect(later.status).toBe(201);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
      expect(later.body.client_id).not.toBe(first.body.client_id);
      const again = await t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'daily');
      expect(again.body.client_id).toBe(later.body.client_id);
    } finally {
      t.clock.set(start);
    }
  });

  it('concurrent requests with one key create one resource', async () => {
    const body = creditorBody();
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'race-1').send(body)),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.creditor_id)).size).toBe(1);
    for (const r of responses.filter((x) => x.status !== 201)) {
      expectProblem(r, 409); // still in progress: retry
      expect(r.body.detail).toMatch(/in progress/);
    }
    expect(await creditorCount(t, body.document)).toBe(1);
    const settled = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'race-1').send(body);
    expect(settled.status).toBe(201);
    expect(settled.body.creditor_id).toBe(created[0]!.body.creditor_id);

    const credentialsBefore = await t.database.db.select({ n: count() }).from(creditorCredentials).where(eq(creditorCredentials.creditorId, c.creditorId));
    const parallel = await Promise.all(Array.from({ length: 6 }, () => t.request.post('/api/v1/credentials').set(c.auth).set('Idempotency-Key', 'race-2')));
    expect(new Set(parallel.filter((r) => r.status === 201).map((r) => r.body.client_id)).size).toBe(1);
    const credentialsAfter = await t.database.db.select({ n: count() }).from(creditorCredentials).where(eq(creditorCredentials.creditorId, c.creditorId));
    expect(credentialsAfter[0]!.n - credentialsBefore[0]!.n).toBe(1);
  });
});

describe('server faults', () => {
  const CPF = '529.982.247-25';

  it('a database fault answers 500 with a reference, logs the error without the CPF, and frees the key', async () => {
    await t.database.db.execute(
      sql.raw(`CREATE FUNCTION quita_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$`),
    );
    await t.database.db.execute(sql.raw(`CREATE TRIGGER quita_test_fail BEFORE INSERT ON creditors FOR EACH ROW EXECUTE FUNCTION quita_test_fail()`));
    const body = creditorBody({ document: CPF, name: 'Maria da Silva' });
    let res: Response;
    try {
      res = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'fault-1').send(body);
    } finally {
      await t.database.db.execute(sql.raw('DROP TRIGGER quita_test_fail ON creditors'));
      await t.database.db.execute(sql.raw('DROP FUNCTION quita_test_fail()'));
    }
    expectProblem(res, 500);
    const reference = /Reference: ([0-9a-f-]{36})/.exec(res.body.detail)?.[1];
    expect(reference).toBeDefined();
    expect(res.text).not.toMatch(/insert|creditors|disk on fire|Failed query|params/i);
    expect(res.text).not.toMatch(/529\.?982\.?247-?25/);

    const lines = log.lines();
    const line = lines.find((l) => l.msg === 'unhandled error' && l.reqId === reference);
    expect(line, 'an error line carrying the reference').toBeDefined();
    expect(JSON.stringify(line)).toContain('disk on fire');
    expect(log.text()).not.toMatch(/529\.?982\.?247-?25/);
    // The request line for it too.
    expect(lines.some((l) => l.msg === 'request' && l.status === 500 && l.route === '/api/v1/admin/creditors')).toBe(true);

    // A 5xx released the key: the retry runs.
    const [held] = await t.database.db.select({ n: count() }).from(idempotencyKeys).where(and(eq(idempotencyKeys.scope, 'admin'), eq(idempotencyKeys.key, 'fault-1')));
    expect(held!.n).toBe(0);
    const retry = await t.request.post('/api/v1/admin/creditors').set(admin).set('Idempotency-Key', 'fault-1').send(body);
    expect(retry.status).toBe(201);
  });

  it('a closed database answers 500 problem+json without details', async () => {
    const broken = memoryLogger();
    const b = await buildTestApp({ logger: broken.logger });
    try {
      const d = await seedCreditor(b);
      await b.database.close();
      const res = await b.request.get('/api/v1/profile').set(d.auth);
      expectProblem(res, 500);
      expect(res.body.detail).toMatch(/^Something went wrong on our side\. Reference: [0-9a-f-]{36}\.$/);
      expect(res.body.errors).toEqual([]);
      expect(res.text).not.toMatch(/select|pglite|pool|closed|creditor_credentials/i);
      const line = broken.lines().find((l) => l.msg === 'unhandled error');
      expect(line).toBeDefined();
      expect(JSON.stringify(line)).toMatch(/closed|end on the pool|Failed query/i);
      // An HTML page for a portal path hides it as well.
      const page = await b.request.get('/healthz');
      expect(page.status).toBe(200);
    } finally {
      await b.app.close();
    }
  });
});

describe('rate limits', () => {
  it('answer 429 problem+json with Retry-After', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 200 && !limited; i++) {
      const res = await t.request.post('/api/v1/auth/token').send({ client_id: 'qc_nobody', client_secret: 'wrong' });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(401);
    }
    expect(limited, 'the token endpoint is rate-limited').toBeDefined();
    expectProblem(limited!, 429);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
  });
});
