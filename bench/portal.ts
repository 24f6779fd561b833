// bench:portal — the debtor portal under load, on PostgreSQL, in production mode, beside
// its floor in the same run (docs/benchmarks.md, "bench:portal").
//
//   Quita: the built server (dist/src/server.js, NODE_ENV=production) in a child process,
//     one creditor whose debtor has 10 open debts (among 20,000 debts of other debtors),
//     logged in through the real portal (GET + POST /a/{token}); autocannon on
//       - GET /dividas                 the debts page of the logged-in debtor
//       - GET /ofertas?debts=…         the offers page for those 10 debts (stores the offers shown)
//       - POST /api/v1/simulate        the same 10 debts, bearer token
//   Floor: a bare Fastify 5 server (no plugins) in a child process that reads the same 10
//     rows with one indexed query from the same PostgreSQL (pg Pool) and renders them with
//     a cached Handlebars template of similar size.
//   Target: debts page ≥ 0.5× the floor's req/s, p99 < 25 ms at 50 connections.
//
// The machine is shared and noisy: each round measures the floor and every Quita page one
// after the other, and the figure that counts is the ratio within a round (the median of
// the rounds is reported).
//
//   npx tsx bench/portal.ts                  build if needed, 3 rounds of 10 s per target
//   npx tsx bench/portal.ts --json           also one JSON line with every figure
//   ROUNDS=5 DURATION=10 WARMUP=3 CONNECTIONS=50 BENCH_DATABASE_URL=postgres://… npx tsx bench/portal.ts
//   BENCH_LOG_LEVEL=info                     the server's logs on this terminal (and its log cost)
//   BENCH_KEEP_DB=1                          keep the database afterwards (to EXPLAIN its queries)
//   BENCH_SERVER=/tmp/old/dist/src/server.js  measure another build (an earlier commit) against the same floor
//   BENCH_RATE=1000                          offer a fixed rate (req/s) instead of as many as answered
//   BENCH_HOLD=60                            print the targets, wait 60 s (to probe by hand), then measure
//   ONLY=floor,debts                        measure only these targets
//   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'   extra node flags for the Quita process
//   BENCH_FLOOR_NODE_ARGS=…                  the same for the floor's process
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { completeCpf } from '../src/lib/documents.js';
import { ADMIN_TOKEN, ask, BUILT_SERVER, buildIfStale, cpuSeconds, createDatabase, DEFAULT_DATABASE_URL, peakRssMb, ROOT, startServer, stop, waitFor, withClient, type BenchServer } from './support.js';

const SELF = fileURLToPath(import.meta.url);
const BASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
/** BENCH_RATE=1000: a fixed offered rate instead of as fast as possible (to compare CPU per request at equal load). */
const RATE = Number(process.env.BENCH_RATE ?? 0);
const DEBTS = 10;
const BACKGROUND_DEBTS = 20_000;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 25;
const json = process.argv.includes('--json');
/** BENCH_SERVER=/elsewhere/dist/src/server.js: another build of Quita (an earlier commit, to compare). */
const SERVER = process.env.BENCH_SERVER ?? BUILT_SERVER;
/** ONLY=floor,debts: measure only these (profiling). */
const ONLY = (process.env.ONLY ?? '').split(',').filter(Boolean);

// ---------------------------------------------------------------------------------------
// autocannon (no bundled types): the few fields used here.
interface Percentiles {
  average: number;
  p50: number;
  p99: number;
  [k: string]: number;
}
interface AutocannonResult {
  requests: Percentiles & { total: number; sent: number };
  latency: Percentiles;
  throughput: Percentiles;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  overallRate?: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: AutocannonOptions) => Promise<AutocannonResult>;

// ---------------------------------------------------------------------------------------
// The floor: run as `bench/portal.ts --floor` in its own process.

const FLOOR_TEMPLATE = `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="description" content="Quita: acesso seguro.">
<title>{{title}} · Quita</title>
<link rel="stylesheet" href="/static/quita.css">
</head>
<body>
<a class="skip" href="#conteudo">Pular para o conteúdo</a>
<header class="top"><span class="brand">Quita</span></header>
<main id="conteudo">
<h1>{{title}}</h1>
<section class="creditor" aria-label="Credor"><p><span class="muted">Credor:</span> <strong>{{creditor}}</strong></p></section>
<h2>Dívidas em aberto</h2>
<form method="get" action="/ofertas">
<fieldset>
<legend>Marque o que deseja negociar</legend>
{{#each debts}}
<div class="check card">
<input type="checkbox" id="d{{id}}" name="debts" value="{{id}}" checked>
<label for="d{{id}}"><span class="desc">{{description}}</span><span class="line muted">Vencimento original: {{dueDate}}</span><span class="line">Valor: <strong>{{balance}}</strong></span></label>
</div>
{{/each}}
</fieldset>
<button type="submit">Ver ofertas</button>
</form>
<p class="muted">Os valores mostrados são atualizados a cada dia com multa e juros previstos pelo credor. Marque as dívidas que deseja negociar e veja as ofertas à vista e parceladas.</p>
<p class="muted">Se tiver dúvidas, fale com o credor pelos canais informados na sua cobrança. O Quita nunca pede senhas ou pagamentos fora deste site.</p>
</main>
<footer class="foot"><a href="/privacidade">Privacidade e seus dados</a></footer>
</body>
</html>
`;

async function runFloor(): Promise<void> {
  const [{ default: Fastify }, { default: Handlebars }] = await Promise.all([import('fastify'), import('handlebars')]);
  const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10 });
  const template = Handlebars.compile(FLOOR_TEMPLATE);
  const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
  const creditorId = process.env.FLOOR_CREDITOR_ID!;
  const cpf = process.env.FLOOR_CPF!;
  const app = Fastify({ logger: false });
  app.get('/floor', async (_request, reply) => {
    const { rows } = await pool.query<{ id: string; external_id: string; description: string | null; due_date: string; amount_cents: string; credited_cents: string }>({
      name: 'floor_debts',
      text: `SELECT id, external_id, description, to_char(due_date, 'DD/MM/YYYY') AS due_date, amount_cents, credited_cents
               FROM debts WHERE creditor_id = $1 AND cpf = $2 AND status = 'open' ORDER BY due_date, id`,
      values: [creditorId, cpf],
    });
    const debts = rows.map((r) => ({ id: r.id, description: r.description ?? `Dívida ${r.external_id}`, dueDate: r.due_date, balance: brl.format((Number(r.amount_cents) - Number(r.credited_cents)) / 100) }));
    reply.type('text/html; charset=utf-8');
    return template({ title: 'Suas dívidas', creditor: 'Bench Cobranças Ltda', debts });
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
}

// ---------------------------------------------------------------------------------------
// Helpers.

function isoDaysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

async function call(base: string, pathname: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return fetch(`${base}${pathname}`, { ...init, headers, body, redirect: 'manual' });
}

async function expectStatus(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}, not ${status}: ${(await res.text()).slice(0, 500)}`);
  return res;
}

/** `name=value` of each Set-Cookie. */
function cookiesOf(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Seeding through the real API and the real portal.

interface Seeded {
  creditorId: string;
  cpf: string;
  accessToken: string;
  cookie: string;
  debtIds: number[];
}

async function seed(base: string, url: string): Promise<Seeded> {
  const created = (await (await expectStatus(
    await call(base, '/api/v1/admin/creditors', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { name: 'Bench Cobranças Ltda', document: '11222333000181', address: { street: 'Av. Paulista, 1000', city: 'São Paulo', state: 'SP', postal_code: '01310-100' }, email: 'bench@example.com', phone: '(11) 3333-4444' },
    }),
    201,
    'POST /api/v1/admin/creditors',
  )).json()) as { creditor_id: string; client_id: string; client_secret: string };
  const { access_token: accessToken } = (await (await expectStatus(
    await call(base, '/api/v1/auth/token', { method: 'POST', json: { client_id: created.client_id, client_secret: created.client_secret } }),
    200,
    'POST /api/v1/auth/token',
  )).json()) as { access_token: string };
  const auth = { authorization: `Bearer ${accessToken}` };

  const cpf = completeCpf('390533447');
  const debts = Array.from({ length: DEBTS }, (_, i) => ({
    external_id: `BENCH-${String(i + 1).padStart(3, '0')}`,
    cpf,
    name: 'Maria Aparecida dos Santos',
    amount_cents: 15_000 + i * 12_345,
    due_date: isoDaysAgo(20 + i * 37),
    description: `Mensalidade ${i + 1} do plano Família`,
  }));
  const put = (await (await expectStatus(await call(base, '/api/v1/debts', { method: 'PUT', headers: auth, json: { debts } }), 200, 'PUT /api/v1/debts')).json()) as { imported: number };
  if (put.imported !== DEBTS) throw new Error(`PUT /api/v1/debts imported ${put.imported} of ${DEBTS}`);

  // Other debtors' debts, so that the indexed reads are reads of a real table.
  await withClient(url, async (c) => {
    await c.query(
      `INSERT INTO debts (creditor_id, external_id, cpf, name, amount_cents, due_date, description)
       SELECT $1, 'BG-' || g, lpad((10000000000 + g)::text, 11, '0'), 'Outro Devedor ' || g, 1000 + (g * 7919) % 2000000,
              current_date - (g % 1500), 'Parcela ' || (g % 12 + 1)
         FROM generate_series(1, $2::int) g`,
      [created.creditor_id, BACKGROUND_DEBTS],
    );
    await c.query('ANALYZE');
  });
  const ids = await withClient(url, async (c) => (await c.query<{ id: string }>(`SELECT id FROM debts WHERE creditor_id = $1 AND cpf = $2 ORDER BY id`, [created.creditor_id, cpf])).rows.map((r) => Number(r.id)));

  const link = (await (await expectStatus(await call(base, '/api/v1/links', { method: 'POST', headers: auth, json: { cpf } }), 201, 'POST /api/v1/links')).json()) as { url: string };
  const token = link.url.slice(link.url.lastIndexOf('/a/') + 3);

  // The portal, as a browser: the form (its CSRF cookie and token), then the CPF.
  const page = await expectStatus(await call(base, `/a/${token}`), 200, 'GET /a/{token}');
  const jar = cookiesOf(page);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error('no CSRF token on the access page');
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const opened = await expectStatus(
    await call(base, `/a/${token}`, {
      method: 'POST',
      headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, cpf }).toString(),
    }),
    303,
    'POST /a/{token}',
  );
  for (const [k, v] of cookiesOf(opened)) jar.set(k, v);
  if (!jar.has('quita_sessao')) throw new Error('no session cookie after POST /a/{token}');
  return { creditorId: created.creditor_id, cpf, accessToken, cookie: cookieHeader(), debtIds: ids };
}

// ---------------------------------------------------------------------------------------
// Measuring.

interface Target {
  key: 'floor' | 'debts' | 'offers' | 'simulate';
  label: string;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Text the answer must contain (checked once before measuring). */
  expect: string;
  server: ChildProcess;
  pid: number;
}

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  /** Statements the server sent per request. */
  queries: number;
  /** The server process's CPU time per request, µs (a figure the machine's load barely moves). */
  cpuUs: number;
  /** CPU time of the PostgreSQL backends per request, µs (when PostgreSQL runs on this machine). */
  pgCpuUs: number;
  non2xx: number;
  errors: number;
}

/**
 * Counts the statements each server sends: a module preloaded into both processes wraps
 * pg's Client#query and answers its count over the IPC channel (not on a signal:
 * close-with-grace ends the server on SIGUSR2; not in a file: writes cost the server).
 */
const COUNTER_MODULE = `
import pg from ${JSON.stringify(path.join(ROOT, 'node_modules/pg/lib/index.js'))};
let n = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) { n++; return query.apply(this, args); };
process.on('message', (m) => { if (m === 'count-queries') process.send({ queries: n }); });
process.channel?.unref();
`;

/** CPU time (user + system) a process has used so far, in ms (NaN once it is gone). */
const cpuMs = (pid: number) => cpuSeconds(pid) * 1000;

/** CPU time of each PostgreSQL backend serving this database (local server only; empty otherwise). */
function backendsCpuMs(db: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const ms = title.startsWith('postgres:') && title.includes(` ${db} `) ? cpuMs(Number(entry)) : NaN;
      if (!Number.isNaN(ms)) out.set(Number(entry), ms);
    } catch {
      /* gone */
    }
  }
  return out;
}

function backendsCpuSince(db: string, before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of backendsCpuMs(db)) total += ms - (before.get(pid) ?? 0);
  return total;
}

function statements(child: ChildProcess): Promise<number> {
  return ask(child, 'count-queries', (m: { queries?: number }) => (typeof m?.queries === 'number' ? m.queries : undefined));
}

async function check(t: Target): Promise<number> {
  const res = await fetch(t.url, { method: t.method ?? 'GET', headers: t.headers, body: t.body, redirect: 'manual' });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(t.expect)) throw new Error(`${t.label}: answered ${res.status} without “${t.expect}”: ${text.slice(0, 300)}`);
  return Buffer.byteLength(text);
}

async function measure(t: Target, db: string, warmup: number): Promise<Measure> {
  const opts = { url: t.url, connections: CONNECTIONS, method: t.method ?? 'GET', headers: t.headers, body: t.body, ...(RATE ? { overallRate: RATE } : {}) };
  if (warmup > 0) await autocannon({ ...opts, duration: warmup });
  const before = await statements(t.server);
  const cpuBefore = cpuMs(t.pid);
  const pgBefore = backendsCpuMs(db);
  const r = await autocannon({ ...opts, duration: DURATION });
  const cpu = cpuMs(t.pid) - cpuBefore;
  const pgCpu = backendsCpuSince(db, pgBefore);
  const after = await statements(t.server);
  const completed = r['2xx'] + r.non2xx;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    queries: r.requests.sent ? (after - before) / r.requests.sent : NaN,
    cpuUs: completed ? (cpu * 1000) / completed : NaN,
    pgCpuUs: completed && pgBefore.size > 0 ? (pgCpu * 1000) / completed : NaN,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

async function main(): Promise<void> {
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const machine = { cores: os.cpus().length, gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, node: process.version, date: new Date().toISOString() };
  const loadBefore = os.loadavg();
  console.log(`bench:portal — ${machine.cores} cores, ${machine.gib} GiB, node ${machine.node}, ${machine.date}`);
  console.log(`  load average before: ${load()}`);
  console.log(`  ${ROUNDS} rounds × (${ONLY.length ? ONLY.join(', ') : 'floor, debts, offers, simulate'}), ${CONNECTIONS} connections, ${DURATION} s each after ${WARMUP} s of warm-up`);
  if (RATE) console.log(`  BENCH_RATE=${RATE}: every target is offered ${RATE} req/s, so compare CPU per request, not req/s or the ratio`);
  if (!process.env.BENCH_SERVER) buildIfStale();
  else console.log(`  server: ${SERVER}`);

  const { name: db, url, drop } = await createDatabase(BASE_URL);
  const counterDir = mkdtempSync(path.join(os.tmpdir(), 'quita-bench-portal-'));
  let quitaServer: BenchServer | undefined;
  let floor: ChildProcess | undefined;
  try {
    const counter = path.join(counterDir, 'count-queries.mjs');
    writeFileSync(counter, COUNTER_MODULE);
    const countArgs = ['--import', pathToFileURL(counter).href];
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    quitaServer = await startServer({ env: { DATABASE_URL: url }, script: SERVER, nodeArgs: [...countArgs, ...nodeArgs], ipc: true });
    const { child: quita, port, base } = quitaServer;
    const s = await seed(base, url);

    const floorPort = port + 100;
    const floorArgs = (process.env.BENCH_FLOOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
    floor = spawn(process.execPath, [...process.execArgv, ...countArgs, ...floorArgs, SELF, '--floor'], {
      env: { ...process.env, NODE_ENV: 'production', PORT: String(floorPort), FLOOR_DATABASE_URL: url, FLOOR_CREDITOR_ID: s.creditorId, FLOOR_CPF: s.cpf },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await waitFor(`http://127.0.0.1:${floorPort}/floor`, 60_000, floor);

    const onQuita = { server: quita, pid: quita.pid! };
    const allTargets: Target[] = [
      { key: 'floor', label: 'floor: bare Fastify + pg + cached Handlebars', url: `http://127.0.0.1:${floorPort}/floor`, expect: 'Ver ofertas', server: floor, pid: floor.pid! },
      { key: 'debts', label: 'Quita GET /dividas (debts page)', url: `${base}/dividas`, headers: { cookie: s.cookie }, expect: 'Ver ofertas', ...onQuita },
      { key: 'offers', label: 'Quita GET /ofertas (10 debts)', url: `${base}/ofertas?${s.debtIds.map((id) => `debts=${id}`).join('&')}`, headers: { cookie: s.cookie }, expect: 'Escolher', ...onQuita },
      {
        ...onQuita,
        key: 'simulate',
        label: 'Quita POST /api/v1/simulate',
        url: `${base}/api/v1/simulate`,
        method: 'POST',
        headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ debts: Array.from({ length: DEBTS }, (_, i) => ({ amount_cents: 15_000 + i * 12_345, due_date: isoDaysAgo(20 + i * 37) })) }),
        expect: 'balance_cents',
      },
    ];
    const targets = allTargets.filter((t) => ONLY.length === 0 || ONLY.includes(t.key));
    if (process.env.BENCH_HOLD) {
      // Probing by hand: the targets, then a pause before measuring.
      for (const t of targets) console.log(`  ${t.key}: ${t.method ?? 'GET'} ${t.url} ${JSON.stringify(t.headers ?? {})}`);
      await new Promise((r) => setTimeout(r, Number(process.env.BENCH_HOLD) * 1000));
    }
    const sizes: Record<string, number> = {};
    for (const t of targets) sizes[t.key] = await check(t);
    console.log(`  response sizes: ${targets.map((t) => `${t.key} ${fmt(sizes[t.key]!)} B`).join(', ')}`);

    const rounds: Partial<Record<Target['key'], Measure>>[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const results: Partial<Record<Target['key'], Measure>> = {};
      for (const t of targets) {
        const m = await measure(t, db, round === 1 ? Math.max(WARMUP, 3) : WARMUP);
        results[t.key] = m;
        const bad = m.non2xx || m.errors ? `   ${m.non2xx} non-2xx, ${m.errors} errors/timeouts` : '';
        console.log(`  round ${round}  ${t.label.padEnd(46)} ${fmt(m.rps).padStart(7)} req/s   p50 ${fmt(m.p50, 1).padStart(5)} ms   p99 ${fmt(m.p99, 1).padStart(6)} ms   ${fmt(m.queries, 2)} queries/req   CPU/req: server ${fmt(m.cpuUs).padStart(5)} µs, PostgreSQL ${fmt(m.pgCpuUs).padStart(5)} µs${bad}`);
      }
      const ratio = results.debts && results.floor ? results.debts.rps / results.floor.rps : NaN;
      console.log(`  round ${round}  ratio debts page / floor: ${ratio.toFixed(2)}×   (load ${load()})`);
      rounds.push(results);
    }

    const keys = targets.map((t) => t.key);
    const summary = Object.fromEntries(
      keys.map((k) => [k, { rps: median(rounds.map((r) => r[k]!.rps)), p50_ms: median(rounds.map((r) => r[k]!.p50)), p99_ms: median(rounds.map((r) => r[k]!.p99)), queries_per_request: median(rounds.map((r) => r[k]!.queries)), cpu_us_per_request: median(rounds.map((r) => r[k]!.cpuUs)), pg_cpu_us_per_request: median(rounds.map((r) => r[k]!.pgCpuUs)), bytes: sizes[k] }]),
    ) as Partial<Record<Target['key'], { rps: number; p50_ms: number; p99_ms: number; queries_per_request: number; cpu_us_per_request: number; pg_cpu_us_per_request: number; bytes: number }>>;
    const ratios = rounds.map((r) => (r.debts && r.floor ? r.debts.rps / r.floor.rps : NaN));
    const ratio = median(ratios);
    const rss = { quita_mb: peakRssMb(quita.pid!), floor_mb: peakRssMb(floor.pid!) };
    const loadAfter = os.loadavg();

    console.log('');
    console.log(`  median of ${ROUNDS} rounds             req/s      p50      p99   queries/req   CPU/req: server  PostgreSQL`);
    for (const t of targets) {
      const m = summary[t.key]!;
      console.log(`  ${t.key.padEnd(28)} ${fmt(m.rps).padStart(9)} ${fmt(m.p50_ms, 1).padStart(6)} ms ${fmt(m.p99_ms, 1).padStart(6)} ms   ${fmt(m.queries_per_request, 2).padStart(11)}   ${fmt(m.cpu_us_per_request).padStart(14)} µs ${fmt(m.pg_cpu_us_per_request).padStart(8)} µs`);
    }
    const ratioOk = ratio >= TARGET_RATIO;
    const p99Ok = summary.debts ? summary.debts.p99_ms < TARGET_P99_MS : false;
    console.log(`  ratio debts page / floor: ${ratio.toFixed(2)}× (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})  target ≥ ${TARGET_RATIO}×: ${ratioOk ? 'met' : 'MISSED'}`);
    console.log(`  debts page p99: ${fmt(summary.debts?.p99_ms ?? NaN, 1)} ms  target < ${TARGET_P99_MS} ms: ${p99Ok ? 'met' : 'MISSED'}`);
    console.log(`  peak RSS: Quita ${fmt(rss.quita_mb)} MB, floor ${fmt(rss.floor_mb)} MB`);
    console.log(`  load average after: ${load()}`);

    if (json) {
      console.log(
        JSON.stringify({
          bench: 'portal',
          machine,
          connections: CONNECTIONS,
          duration_s: DURATION,
          rounds: ROUNDS,
          load_before: loadBefore,
          load_after: loadAfter,
          median: summary,
          ratio_debts_floor: ratio,
          ratios,
          targets: { ratio: TARGET_RATIO, p99_ms: TARGET_P99_MS, ratio_met: ratioOk, p99_met: p99Ok },
          peak_rss: rss,
          per_round: rounds,
        }),
      );
    }
  } finally {
    await quitaServer?.stop();
    if (floor) await stop(floor);
    rmSync(counterDir, { recursive: true, force: true });
    if (process.env.BENCH_KEEP_DB === '1') console.log(`  kept database ${db} (BENCH_KEEP_DB=1)`);
    else await drop();
  }
}

if (process.argv.includes('--floor')) await runFloor();
else await main();
