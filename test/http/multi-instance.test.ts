// Several instances on one PostgreSQL (CONTRACT §8, "Several instances"): two real server
// processes behind no balancer but the test itself, sharing Redis for the rate limit, and
// two real worker processes sharing the job queues. Each rule that must hold across
// instances is driven through both servers at once: one agreement per offer, the token
// lockout, the /a/{token} rate limit, webhook tries sent once, lifecycle jobs run once.
import { randomBytes, randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { addDays, calendarDateAt } from '../../src/lib/dates.js';
import { emitEvent } from '../../src/modules/webhooks/webhooks.events.js';
import { ADMIN_TOKEN } from '../helpers/app.js';
import { createTestDatabase, usingPostgres } from '../helpers/db.js';
import { isRunning, redisAnswers, spawnQuita, startServer, stopProcess, until, type QuitaProcess, type QuitaServer } from '../helpers/processes.js';
import { creditorBody } from '../helpers/seed.js';
import { startReceiver, verifyAt, type Receiver } from '../helpers/webhook-receiver.js';
import { csrfOf, newCpf, offerForms } from './portal-helpers.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = usingPostgres && (await redisAnswers(REDIS_URL));
if (usingPostgres && !redisUp) {
  console.warn(`multi-instance.test.ts SKIPPED: Redis does not answer at ${REDIS_URL} (set REDIS_URL, or start Redis); these tests need it for the shared rate-limit counters.`);
}

const SECRET_KEY = 'multi-instance-secret-key-0123456789abcdef';
/** Agreements made to be expired by the moved clock (with the one of the concurrent confirmations). */
const EXPIRING = 12;
const BURST = 100;

let database: Database & { url?: string };
let receiver: Receiver;
let servers: QuitaServer[] = [];
let workers: QuitaProcess[] = [];
let creditor: { id: string; auth: Record<string, string> };
let endpointSecret: string;
/** Tries received per webhook-id, and signatures that did not verify. */
const hits = new Map<string, number>();
const badSignatures: string[] = [];
/** Whether the receiver fails the first try of about one event in four. */
let failFirstTries = true;

const today = () => calendarDateAt(new Date(), 'America/Sao_Paulo');
/** A client address of its own for each test run (the servers trust X-Forwarded-For from loopback): Redis keeps counters between runs. */
const clientAddress = () => `198.18.${randomInt(0, 256)}.${randomInt(1, 255)}`;

async function rows<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await database.db.execute(query)) as unknown as { rows: T[] }).rows;
}

async function api(server: QuitaServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

/** A debtor's browser: one cookie jar, one client address, any server. */
class Browser {
  private cookies = new Map<string, string>();
  constructor(readonly address = clientAddress()) {}

  async send(server: QuitaServer, path: string, form?: Record<string, string>) {
    const headers: Record<string, string> = { 'x-forwarded-for': this.address };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${server.url}${path}`, {
      method: form ? 'POST' : 'GET',
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(90_000),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return { status: res.status, location: res.headers.get('location'), retryAfter: res.headers.get('retry-after'), text: await res.text() };
  }

  async login(server: QuitaServer, token: string, cpf: string) {
    const page = await this.send(server, `/a/${token}`);
    expect(page.status).toBe(200);
    return this.send(server, `/a/${token}`, { _csrf: csrfOf(page.text), cpf });
  }

  /** Offers for one debt, Escolher the first (cash), and the confirmation page: what the Confirmar acordo form posts. */
  async chooseCash(server: QuitaServer, other: QuitaServer, debtId: number) {
    const offers = await this.send(server, `/ofertas?debts=${debtId}`);
    expect(offers.status, offers.text.slice(0, 300)).toBe(200);
    const offer = offerForms(offers.text)[0]!;
    const chosen = await this.send(other, '/ofertas/escolher', { _csrf: offer.csrf, oferta: offer.id, h: offer.hash });
    expect(chosen.status).toBe(303);
    const confirm = await this.send(server, chosen.location!);
    expect(confirm.status).toBe(200);
    return { path: `/ofertas/${offer.id}/confirmar`, offerId: offer.id, form: { _csrf: csrfOf(confirm.text), h: offer.hash, aceite: 'sim' } };
  }
}

/** A debtor of the test's creditor with `n` open debts 30 days overdue, and a link made on server A. */
async function seedDebtor(n: number) {
  const cpf = newCpf();
  const due = addDays(today(), -30);
  const batch = Array.from({ length: n }, (_, i) => ({ external_id: `MI-${cpf}-${i}`, cpf, name: 'Maria da Silva', amount_cents: 50_000 + i * 100, due_date: due }));
  const put = await api(servers[0]!, 'PUT', '/api/v1/debts', { debts: batch }, creditor.auth);
  expect(put.status, put.text).toBe(200);
  expect(put.body.imported).toBe(n);
  const ids = await rows<{ id: number }>(sql`SELECT id FROM debts WHERE creditor_id = ${creditor.id} AND cpf = ${cpf} ORDER BY external_id`);
  const link = await api(servers[0]!, 'POST', '/api/v1/links', { cpf }, creditor.auth);
  expect(link.status, link.text).toBe(201);
  const url = String(link.body.url);
  return { cpf, debtIds: ids.map((r) => Number(r.id)), linkId: String(link.body.id), token: url.slice(url.lastIndexOf('/a/') + 3) };
}

describe.skipIf(!redisUp)(`two servers and two workers on one PostgreSQL and Redis (${REDIS_URL})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startReceiver();
    receiver.respond((hit) => {
      const id = hit.headers['webhook-id'] ?? '';
      const seen = (hits.get(id) ?? 0) + 1;
      hits.set(id, seen);
      try {
        verifyAt(endpointSecret, hit, new Date(Number(hit.headers['webhook-timestamp']) * 1000));
      } catch {
        badSignatures.push(id);
      }
      // The first try of about one event in four fails, so that retries race too.
      return failFirstTries && seen === 1 && id.charCodeAt(id.length - 1) % 4 === 0 ? { status: 500 } : { status: 200 };
    });
    const env = { NODE_ENV: 'test', DATABASE_URL: database.url!, REDIS_URL, SECRET_KEY, ADMIN_TOKEN, LOG_LEVEL: 'warn', TRUST_PROXY: 'loopback' };
    workers = ['1', '2'].map((n) => spawnQuita('worker', `worker-${n}`, { ...env, PGAPPNAME: `quita-worker-${n}` }));
    // Filled in place, so that afterAll stops whichever started even if the other did not.
    servers = [];
    await Promise.all(['a', 'b'].map(async (n, i) => (servers[i] = await startServer(`server-${n}`, { ...env, PGAPPNAME: `quita-server-${n}` }))));

    const created = await api(servers[0]!, 'POST', '/api/v1/admin/creditors', creditorBody(), { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(created.status, created.text).toBe(201);
    const token = await api(servers[1]!, 'POST', '/api/v1/auth/token', { client_id: created.body.client_id, client_secret: created.body.client_secret });
    expect(token.status).toBe(200);
    creditor = { id: String(created.body.creditor_id), auth: { authorization: `Bearer ${String(token.body.access_token)}` } };
    const endpoint = await api(servers[1]!, 'POST', '/api/v1/webhook-endpoints', { url: receiver.url }, creditor.auth);
    expect(endpoint.status, endpoint.text).toBe(201);
    endpointSecret = String(endpoint.body.secret);

    // Both workers are up (connected with their own application_name) before anything is emitted.
    await until(async () => {
      for (const w of workers) if (!isRunning(w)) throw new Error(`${w.name} exited:\n${w.output()}`);
      const names = await rows<{ name: string }>(sql`SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'quita-worker-%'`);
      return names.length === 2;
    }, 90_000, 'both workers to connect');
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...servers, ...workers].filter(Boolean).map((p) => stopProcess(p, 'SIGKILL')));
    await receiver?.close();
    await database?.close();
  });

  it('makes one agreement, and one agreement.created, from 200 concurrent confirmations of one offer across both servers', async () => {
    const debtor = await seedDebtor(1);
    const browser = new Browser();
    const login = await browser.login(servers[1]!, debtor.token, debtor.cpf);
    expect(login.status).toBe(303);
    const { path, offerId, form } = await browser.chooseCash(servers[0]!, servers[1]!, debtor.debtIds[0]!);

    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => browser.send(servers[i % 2]!, path, form)));
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 303: 200 });
    const locations = new Set(answers.map((a) => a.location));
    expect(locations.size).toBe(1);
    const agreementId = [...locations][0]!.split('/').pop()!;

    const made = await rows<{ id: string; status: string }>(sql`SELECT id, status FROM agreements WHERE offer_id = ${offerId}`);
    expect(made).toEqual([{ id: agreementId, status: 'pending' }]);
    const created = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM webhook_events WHERE type = 'agreement.created' AND data->>'id' = ${agreementId}`);
    expect(created[0]!.n).toBe(1);
    const debts = await rows<{ status: string }>(sql`SELECT status FROM debts WHERE id = ${debtor.debtIds[0]!}`);
    expect(debts).toEqual([{ status: 'in_agreement' }]);
  }, 120_000);

  it('locks a token after 5 wrong CPFs in total across both servers, and shares the /a/{token} rate limit through Redis', async () => {
    const debtor = await seedDebtor(1);
    const browser = new Browser();
    const csrf = csrfOf((await browser.send(servers[0]!, `/a/${debtor.token}`)).text);
    const tryCpf = (i: number, cpf: string) => browser.send(servers[i % 2]!, `/a/${debtor.token}`, { _csrf: csrf, cpf });
    const link = async () => (await rows<{ failed: number; lockouts: number; locked: boolean }>(sql`
      SELECT failed_attempts AS failed, lockouts, locked_until IS NOT NULL AS locked FROM debtor_links WHERE id = ${debtor.linkId}`))[0]!;

    for (let i = 0; i < 4; i++) expect((await tryCpf(i, newCpf())).status).toBe(401);
    expect(await link()).toEqual({ failed: 4, lockouts: 0, locked: false });
    expect((await tryCpf(4, newCpf())).status).toBe(401);
    expect(await link()).toEqual({ failed: 0, lockouts: 1, locked: true });
    // Locked on both: even the right CPF is refused, on either server.
    expect((await tryCpf(0, debtor.cpf)).status).toBe(401);
    expect((await tryCpf(1, debtor.cpf)).status).toBe(401);

    // 60 a minute from one address, counted together by both servers.
    const visitor = new Browser();
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await visitor.send(servers[i % 2]!, `/a/${randomBytes(16).toString('base64url')}`)).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    for (const server of servers) {
      const limited = await visitor.send(server, `/a/${randomBytes(16).toString('base64url')}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    }
    // Another address is not limited.
    expect((await new Browser().send(servers[1]!, `/a/${debtor.token}`)).status).toBe(200);
  }, 120_000);

  it('runs lifecycle jobs once and sends every webhook try once while two workers share the queues; the clock is moved on one server', async () => {
    const debtor = await seedDebtor(EXPIRING);
    const browser = new Browser();
    expect((await browser.login(servers[0]!, debtor.token, debtor.cpf)).status).toBe(303);
    for (const [i, debtId] of debtor.debtIds.entries()) {
      const [here, there] = i % 2 === 0 ? [servers[0]!, servers[1]!] : [servers[1]!, servers[0]!];
      const { path, form } = await browser.chooseCash(here, there, debtId);
      expect((await browser.send(there, path, form)).status).toBe(303);
    }
    // This creditor's agreements: these, and the one of the concurrent confirmations when that test ran.
    const agreementIds = (await rows<{ id: string }>(sql`SELECT id FROM agreements WHERE creditor_id = ${creditor.id}`)).map((r) => r.id);
    expect(agreementIds.length).toBeGreaterThanOrEqual(EXPIRING);

    // A burst straight into the outbox, for the two dispatchers to race over, retries included.
    await database.db.transaction(async (tx) => {
      for (let i = 0; i < BURST; i++) {
        const at = new Date();
        const data = { id: `imp_burst_${i}`, status: 'completed' as const, dry_run: false, rows_total: 1, rows_imported: 1, rows_rejected: 0, created_at: at.toISOString(), finished_at: at.toISOString() };
        await emitEvent(tx, { creditorId: creditor.id, type: 'import.completed', data, at });
      }
    });
    const delivered = async () => {
      const [state] = await rows<{ pending: number; undelivered: number }>(sql`
        SELECT (SELECT count(*)::int FROM webhook_deliveries WHERE creditor_id = ${creditor.id} AND status = 'pending') AS pending,
               (SELECT count(*)::int FROM webhook_events ev WHERE ev.creditor_id = ${creditor.id}
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id AND d.status = 'succeeded')) AS undelivered`);
      return state!.pending === 0 && state!.undelivered === 0;
    };
    const settled = async () => {
      const [live] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM agreements WHERE creditor_id = ${creditor.id} AND status IN ('pending', 'active')`);
      return live!.n === 0 && (await delivered());
    };
    const explain = async (err: Error): Promise<never> => {
      const state = await rows(sql`
        SELECT 'agreement' AS what, status, count(*)::int AS n FROM agreements WHERE creditor_id = ${creditor.id} GROUP BY status
        UNION ALL SELECT 'delivery', status || ' ' || coalesce(last_error, '') || ' ' || coalesce(last_status_code::text, ''), count(*)::int
          FROM webhook_deliveries WHERE creditor_id = ${creditor.id} GROUP BY 2`);
      const pending = await rows(sql`
        SELECT d.event_id, ev.type, d.attempts, d.next_attempt_at, d.locked_until, d.claimed_by, d.last_attempt_at, now() AS db_now,
               (SELECT value FROM settings WHERE key = 'clock_offset_ms') AS clock_offset
        FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id WHERE d.creditor_id = ${creditor.id} AND d.status = 'pending'`);
      const logs = [...servers, ...workers].map((p) => `${p.name} (${isRunning(p) ? 'running' : 'exited'}):\n${p.output().slice(-3_000)}`).join('\n');
      throw new Error(`${err.message}\n${JSON.stringify(state)}\n${JSON.stringify(pending, null, 1)}\n${logs}`);
    };
    await until(delivered, 90_000, 'every event so far delivered', 250).catch(explain);

    // Five days on, for every instance: parcel 1 of each agreement is then past its grace.
    // Each worker takes up the moved clock at its next job round; delivery leases are on
    // the database's clock, so the move cannot make a try in flight look abandoned. No
    // failed first tries from here on, so that no retry waits out its 5 minutes.
    failFirstTries = false;
    const moved = await api(servers[1]!, 'POST', '/api/v1/admin/clock', { now: `${addDays(today(), 5)}T12:00:00-03:00` }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(moved.status, moved.text).toBe(200);
    await until(settled, 90_000, 'every agreement expired and every event delivered', 250).catch(explain);
    // A round that was already under way finishes; nothing is left for it to do.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await settled()).toBe(true);

    // (d) each transition and its events exactly once
    const statuses = await rows<{ status: string; n: number }>(sql`SELECT status, count(*)::int AS n FROM agreements WHERE creditor_id = ${creditor.id} GROUP BY status`);
    expect(statuses).toEqual([{ status: 'expired', n: agreementIds.length }]);
    const events = await rows<{ agreement_id: string; type: string; n: number }>(sql`
      SELECT coalesce(data->>'agreement_id', data->>'id') AS agreement_id, type, count(*)::int AS n
      FROM webhook_events WHERE creditor_id = ${creditor.id} AND type <> 'import.completed' GROUP BY 1, 2`);
    expect(events.filter((e) => e.n !== 1)).toEqual([]);
    for (const id of agreementIds) {
      const types = events.filter((e) => e.agreement_id === id).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['agreement.created', 'parcel.overdue', 'agreement.expired']));
    }

    // (c) the receiver got each try the database recorded, once: no try sent by both workers
    const tries = await rows<{ event_id: string; attempts: number[] }>(sql`
      SELECT d.event_id, array_agg(a.attempt ORDER BY a.attempt) AS attempts
      FROM webhook_deliveries d JOIN webhook_delivery_attempts a ON a.delivery_id = d.id
      WHERE d.creditor_id = ${creditor.id} GROUP BY d.event_id`);
    const [{ n: eventCount }] = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM webhook_events WHERE creditor_id = ${creditor.id}`)) as [{ n: number }];
    expect(tries).toHaveLength(eventCount);
    expect(eventCount).toBeGreaterThanOrEqual(BURST + 3 * agreementIds.length);
    const mismatched = tries.filter((t) => hits.get(t.event_id) !== t.attempts.length || t.attempts.some((a, i) => a !== i + 1));
    expect(mismatched).toEqual([]);
    expect([...hits.keys()].filter((id) => !tries.some((t) => t.event_id === id))).toEqual([]);
    expect(tries.some((t) => t.attempts.length > 1)).toBe(true);
    expect(badSignatures).toEqual([]);
  }, 180_000);

  it('stops every process on SIGTERM, each exiting 0', async () => {
    const ended = await Promise.all([...servers, ...workers].map(async (p) => ({ name: p.name, ...(await stopProcess(p, 'SIGTERM')), output: p.output().slice(-2_000) })));
    for (const e of ended) expect({ name: e.name, code: e.code, signal: e.signal }, e.output).toEqual({ name: e.name, code: 0, signal: null });
  }, 120_000);
});
