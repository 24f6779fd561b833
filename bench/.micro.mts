// scratch: per-request JS cost of the framework layers, in-process (not committed)
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
const url = process.env.URL!;
const config = loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(40), DATABASE_URL: url, LOG_LEVEL: 'warn', PAYMENTS_SANDBOX: 'true' });
const app = await buildApp({ config });
await app.ready();
import pg from 'pg';
import Handlebars from 'handlebars';
import { newSessionSecret } from '../src/modules/portal/session.js';
const c = new pg.Client({ connectionString: url }); await c.connect();
const { rows: [s] } = await c.query('select link_id, creditor_id, cpf from portal_sessions limit 1');
const sec = newSessionSecret();
await c.query('insert into portal_sessions (id, link_id, creditor_id, cpf, created_at, last_seen_at) values ($1,$2,$3,$4,now(),now())', [sec.id, s.link_id, s.creditor_id, s.cpf]);
await c.end();
const headers = { cookie: `_csrf=KepGlHYVfIEGp87pCIPMUmeW; quita_sessao=${sec.cookieValue}` };
const pool = new pg.Pool({ connectionString: url, max: 10 });
import { readFileSync } from 'node:fs';
const FLOOR_TEMPLATE = /const FLOOR_TEMPLATE = `([\s\S]*?)`;/.exec(readFileSync(new URL('./portal.ts', import.meta.url), 'utf8'))![1]!;
const bare = Fastify({ logger: false });
const tpl = Handlebars.compile(FLOOR_TEMPLATE || '<html>{{#each debts}}<p>{{description}} {{dueDate}} {{balance}}</p>{{/each}}</html>');
const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
bare.get('/floor', async (_r, reply) => {
  const { rows } = await pool.query({ name: 'f', text: `SELECT id, external_id, description, to_char(due_date, 'DD/MM/YYYY') AS due_date, amount_cents, credited_cents FROM debts WHERE creditor_id = $1 AND cpf = $2 AND status = 'open' ORDER BY due_date, id`, values: [s.creditor_id, s.cpf] });
  reply.type('text/html; charset=utf-8');
  return tpl({ title: 'x', creditor: 'y', debts: rows.map((r) => ({ id: r.id, description: r.description, dueDate: r.due_date, balance: brl.format((Number(r.amount_cents) - Number(r.credited_cents)) / 100) })) });
});
bare.get('/healthz', async () => ({ status: 'ok' }));
await bare.ready();
const best = new Map<string, number>();
async function time(label: string, f: () => Promise<unknown>, n = 5000) {
  for (let i = 0; i < 500; i++) await f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await f();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / n;
  best.set(label, Math.min(best.get(label) ?? Infinity, us));
}
process.on('beforeExit', () => { for (const [k, v] of best) console.log(k.padEnd(40), v.toFixed(1), 'µs CPU (best)'); });
if (process.env.HEAP) {
  const inspector = await import('node:inspector/promises');
  const session = new inspector.Session(); session.connect();
  const { rows: ids } = await (async () => { const c2 = new pg.Client({ connectionString: url }); await c2.connect(); const r = await c2.query('select id from debts where creditor_id = $1 and cpf = $2', [s.creditor_id, s.cpf]); await c2.end(); return r; })();
  const offersUrl = '/ofertas?' + ids.map((r: { id: string }) => `debts=${r.id}`).join('&');
  const target = process.env.HEAP === 'floor' ? () => bare.inject('/floor') : process.env.HEAP === 'offers' ? () => app.inject({ url: offersUrl, headers }) : () => app.inject({ url: '/dividas', headers });
  for (let i = 0; i < Number(process.env.WARM ?? 2000); i++) await target();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const N = Number(process.env.N ?? 5000);
  for (let i = 0; i < N; i++) await target();
  const { profile } = await session.post('HeapProfiler.stopSampling') as { profile: { head: HeapNode } };
  type HeapNode = { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] };
  const bySelf = new Map<string, number>(); const byPkg = new Map<string, number>(); let total = 0;
  const walk = (n: HeapNode) => { const u = n.callFrame.url; const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(u); const pkg = m ? m[1]! : u.includes('/src/') ? 'quita:' + u.split('/src/')[1] : u.startsWith('node:') ? 'node-core' : u || '(native)';
    const k = `${n.callFrame.functionName || '(anon)'} ${pkg}:${n.callFrame.lineNumber}`; bySelf.set(k, (bySelf.get(k) ?? 0) + n.selfSize); byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + n.selfSize); total += n.selfSize; n.children.forEach(walk); };
  walk(profile.head);
  console.log('total bytes/req', (total / N).toFixed(0));
  for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log((v / N).toFixed(0).padStart(7), 'B/req', k);
  for (const [k, v] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((v / N).toFixed(0).padStart(7), 'B/req', k);
  process.exit(0);
}
if (process.env.ONLY_DIVIDAS) { const u = process.env.ONLY_DIVIDAS === 'offers' ? '/ofertas?' + (await (async () => { const c2 = new pg.Client({ connectionString: url }); await c2.connect(); const r = await c2.query('select id from debts where creditor_id = $1 and cpf = $2', [s.creditor_id, s.cpf]); await c2.end(); return r.rows.map((x: { id: string }) => `debts=${x.id}`).join('&'); })()) : '/dividas'; for (let i = 0; i < Number(process.env.N ?? 30000); i++) await app.inject({ url: u, headers }); }
else for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++) {
  await time('bare inject /healthz', () => bare.inject('/healthz'));
  await time('quita inject /healthz', () => app.inject('/healthz'));
  await time('quita inject /saiu (small page)', () => app.inject('/saiu'));
  await time('quita inject /privacidade no session', () => app.inject('/privacidade'));
  await time('floor inject /floor', () => bare.inject('/floor'));
  await time('quita inject /dividas', () => app.inject({ url: '/dividas', headers }));
}
await app.close(); await pool.end();
