import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { openPostgres, runMigrations } from '../src/db/client.js';
import { creditors, webhookEndpoints } from '../src/db/schema/index.js';
import { emitEvent } from '../src/modules/webhooks/webhooks.events.js';
const base = 'postgres://postgres@127.0.0.1:5432/test';
const name = `quita_bench_emit_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ connectionString: base }); await admin.connect(); await admin.query(`CREATE DATABASE ${name}`);
const u = new URL(base); u.pathname = '/' + name;
const db = openPostgres(u.toString(), { max: Number(process.env.POOL ?? 10) });
await runMigrations(db);
const creditorId = randomUUID();
await db.db.insert(creditors).values({ id: creditorId, name: 'B', document: '11222333000181', street: 'a', city: 'b', state: 'SP', postalCode: '01310100', email: 'a@b.c' });
await db.db.insert(webhookEndpoints).values({ id: 'we_b', creditorId, url: 'http://127.0.0.1:9/', secret: 'whsec_AAAA' });
const N = 5000; const t0 = performance.now();
let i = 0;
async function workerLoop() { while (i < N) { i++; await db.db.transaction((tx) => emitEvent(tx, { creditorId, type: 'payment.succeeded', data: { x: i } as never, at: new Date() })); } }
await Promise.all(Array.from({ length: Number(process.env.CONC ?? 10) }, workerLoop));
console.log('tx/s', Math.round(N / ((performance.now() - t0) / 1000)));
const t1 = performance.now();
const c = await db.pool!.connect();
for (let k = 0; k < 2000; k++) { await c.query('BEGIN'); await c.query('select 1'); await c.query('COMMIT'); }
console.log('empty tx/s single conn', Math.round(2000 / ((performance.now() - t1) / 1000)));
c.release();
await db.close(); await admin.query(`DROP DATABASE ${name} WITH (FORCE)`); await admin.end();
