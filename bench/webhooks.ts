// bench:webhooks — how fast events go from their commit to a creditor's receiver.
//   1. stream: 10,000 events offered at 1,000 a second (each emitEvent in its own
//      committed transaction, then notifyOutbox()), the dispatcher running in this
//      process with its defaults; each event timed from its commit to the receiver's 2xx.
//   2. capacity: 10,000 events queued first, then drained by the dispatcher alone.
// The receiver is a bare Node HTTP server in a child process; the baseline, in the same
// run, is its own req/s under autocannon with the dispatcher's concurrency.
// Target: keeps up (≥ 1,000 events/s) and p99 commit→2xx < 1 s.
//
//   npx tsx bench/webhooks.ts        needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
//                                    (it creates its own database and drops it after)
//   BENCH_EVENTS, BENCH_RATE         other sizes
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { openPostgres, runMigrations } from '../src/db/client.js';
import { creditors, webhookDeliveries, webhookEndpoints } from '../src/db/schema/index.js';
import { startJobRunner } from '../src/jobs/runner.js';
import { AdjustableClock } from '../src/lib/clock.js';
import { createWebhookDispatcher } from '../src/modules/webhooks/webhooks.dispatcher.js';
import { emitEvent, notifyOutbox, type PaymentEventData } from '../src/modules/webhooks/webhooks.events.js';
import { newWebhookSecret } from '../src/modules/webhooks/webhooks.signing.js';
import { sql } from 'drizzle-orm';
import { ask as askChild, createDatabase, DEFAULT_DATABASE_URL } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 1_000); // events offered per second
const TARGET_P99_MS = 1_000;
const BASELINE_CONNECTIONS = 32; // the dispatcher's concurrency
const BASELINE_SECONDS = 5;
const SELF = fileURLToPath(import.meta.url);
const now = () => performance.timeOrigin + performance.now();

type ToReceiver = { type: 'reset' } | { type: 'report' } | { type: 'count' };
type FromReceiver = { type: 'listening'; port: number } | { type: 'count'; count: number } | { type: 'report'; first: [string, number][]; total: number; maxRssMb: number };

/** The receiver: a bare Node HTTP server that answers 200 and notes when each webhook-id first got its answer. */
function runReceiver(): void {
  const first = new Map<string, number>();
  let total = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
      total++;
      const id = req.headers['webhook-id'];
      if (typeof id === 'string' && !first.has(id)) first.set(id, now());
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'listening', port: (server.address() as { port: number }).port } satisfies FromReceiver));
  process.on('message', (msg: ToReceiver) => {
    if (msg.type === 'reset') {
      first.clear();
      total = 0;
      process.send!({ type: 'count', count: 0 } satisfies FromReceiver);
    } else if (msg.type === 'count') {
      process.send!({ type: 'count', count: first.size } satisfies FromReceiver);
    } else if (msg.type === 'report') {
      process.send!({ type: 'report', first: [...first], total, maxRssMb: process.resourceUsage().maxRSS / 1024 } satisfies FromReceiver);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function ask<T extends FromReceiver['type']>(child: ChildProcess, msg: ToReceiver, answer: T): Promise<Extract<FromReceiver, { type: T }>> {
  return askChild(child, msg, (m: FromReceiver) => (m.type === answer ? (m as Extract<FromReceiver, { type: T }>) : undefined));
}

/** A command's standard output (its standard input closed: autocannon would wait on an open one). */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}`))));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function paymentData(i: number): PaymentEventData {
  const at = new Date().toISOString();
  return { id: `pay_${i}`, agreement_id: `agr_${i}`, parcel_number: 1, amount_cents: 12_345, method: 'pix', status: 'succeeded', created_at: at, paid_at: at, failure_message: null };
}

async function main(): Promise<void> {
  const { url, drop } = await createDatabase(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, 'quita_bench_webhooks');

  const receiver = fork(SELF, ['--receiver'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => receiver.once('message', (m: FromReceiver) => m.type === 'listening' && resolve(m)));
  const hookUrl = `http://127.0.0.1:${port}/hooks`;

  // The API side (emits) and the worker side (dispatches) each with their own pool, as in two processes;
  // the API side with enough connections to offer 1,000 commits a second (each waits for its WAL
  // flush; concurrent ones share it).
  const api = openPostgres(url, { max: 40 });
  const worker = openPostgres(url);
  const config = loadConfig(
    { NODE_ENV: 'development', DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE_URLS: 'true', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'quita-bench-')), LOG_LEVEL: 'warn' },
    { secretKey: randomBytes(32).toString('hex') },
  );
  const dispatcher = createWebhookDispatcher();
  let runner: ReturnType<typeof startJobRunner> | undefined;

  try {
    const progress = (what: string) => console.error(`[bench:webhooks] ${what}`);
    progress('migrating');
    await runMigrations(api);
    const creditorId = randomUUID();
    await api.db.insert(creditors).values({ id: creditorId, name: 'Bench Ltda', document: '11222333000181', street: 'Rua A, 1', city: 'São Paulo', state: 'SP', postalCode: '01310100', email: 'bench@example.com' });
    await api.db.insert(webhookEndpoints).values({ id: 'we_bench', creditorId, url: hookUrl, secret: newWebhookSecret() });

    progress('baseline: autocannon against the receiver');
    // Baseline: the receiver alone, as fast as autocannon can drive it with the dispatcher's concurrency.
    const sample = JSON.stringify({ id: 'evt_0123456789abcdef01234567', type: 'payment.succeeded', created_at: new Date().toISOString(), data: paymentData(0) });
    const stdout = await run(process.execPath, [
      path.join(path.dirname(SELF), '../node_modules/autocannon/autocannon.js'),
      '-c', String(BASELINE_CONNECTIONS), '-d', String(BASELINE_SECONDS), '-m', 'POST',
      '-H', 'content-type=application/json', '-H', 'webhook-id=evt_baseline', '-b', sample, '--json', hookUrl,
    ]);
    const baseline = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number } };
    await ask(receiver, { type: 'reset' }, 'count');
    const log = pino({ level: 'warn' });
    const startRunner = () => startJobRunner({ database: worker, clock: new AdjustableClock(), config, log }, [dispatcher]);
    const waitForAll = async (what: string) => {
      const deadline = now() + 180_000;
      while ((await ask(receiver, { type: 'count' }, 'count')).count < EVENTS) {
        if (now() > deadline) throw new Error(`not every event arrived within 180 s (${what})`);
        await sleep(20);
      }
      return ask(receiver, { type: 'report' }, 'report');
    };

    // 1. The stream: EVENTS offered at RATE a second, each in its own committed transaction.
    progress(`stream: offering ${EVENTS} events at ${RATE}/s`);
    runner = startRunner();
    const committed = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    const cpu0 = process.cpuUsage();
    const t0 = now();
    for (let i = 0; i < EVENTS; ) {
      const due = Math.min(EVENTS, Math.floor(((now() - t0) * RATE) / 1000) + 1);
      for (; i < due; i++) {
        const n = i;
        const p = api.db
          .transaction((tx) => emitEvent(tx, { creditorId, type: 'payment.succeeded', data: paymentData(n), at: new Date() }))
          .then(({ id }) => {
            committed.set(id, now());
            notifyOutbox();
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(1);
    }
    await Promise.all([...inFlight]);
    const offeredSeconds = (Math.max(...committed.values()) - t0) / 1000;
    progress('stream: waiting for the last deliveries');
    const streamed = await waitForAll('stream');
    const cpu = process.cpuUsage(cpu0);
    await runner.stop();
    runner = undefined;
    const arrived = new Map(streamed.first);
    const latencies = [...committed].map(([id, at]) => arrived.get(id)! - at).sort((x, y) => x - y);
    const deliveredPerSecond = EVENTS / ((Math.max(...arrived.values()) - t0) / 1000);
    const offeredPerSecond = EVENTS / offeredSeconds;

    // 2. Capacity: the same number of events already queued, drained by the dispatcher alone.
    progress(`capacity: queueing ${EVENTS} events, then draining them`);
    await ask(receiver, { type: 'reset' }, 'count');
    for (let i = 0; i < EVENTS; i += 500) {
      await api.db.transaction(async (tx) => {
        for (let j = i; j < Math.min(EVENTS, i + 500); j++) await emitEvent(tx, { creditorId, type: 'payment.succeeded', data: paymentData(j), at: new Date() });
      });
    }
    const d0 = now();
    runner = startRunner();
    const drained = await waitForAll('capacity');
    const capacityPerSecond = EVENTS / ((Math.max(...drained.first.map(([, at]) => at)) - d0) / 1000);
    await runner.stop();
    runner = undefined;

    const [{ succeeded, attempts }] = (await worker.db
      .select({ succeeded: sql<number>`count(*) FILTER (WHERE status = 'succeeded')::int`, attempts: sql<number>`sum(attempts)::int` })
      .from(webhookDeliveries)) as [{ succeeded: number; attempts: number }];
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const keepsUp = deliveredPerSecond >= offeredPerSecond * 0.95 && capacityPerSecond >= 1_000 && succeeded === 2 * EVENTS;
    const met = keepsUp && p99 < TARGET_P99_MS;

    const line = (label: string, value: string) => console.log(`  ${label.padEnd(30)} ${value}`);
    console.log('\nbench:webhooks');
    line('machine', `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString()}, load ${os.loadavg()[0]!.toFixed(1)}`);
    line('baseline: receiver alone', `${Math.round(baseline.requests.average)} req/s (autocannon -c ${BASELINE_CONNECTIONS}, ${BASELINE_SECONDS} s; p50 ${baseline.latency.p50} ms, p99 ${baseline.latency.p99} ms)`);
    line('stream: offered', `${EVENTS} commits in ${offeredSeconds.toFixed(2)} s = ${Math.round(offeredPerSecond)}/s (asked ${RATE}/s)`);
    line('stream: delivered', `${Math.round(deliveredPerSecond)} events/s, first commit → last 2xx`);
    line('stream: commit → 2xx', `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`);
    line('stream: CPU in this process', `${((cpu.user + cpu.system) / 1000 / EVENTS).toFixed(2)} ms per event (emitter + dispatcher)`);
    line('capacity: backlog drained', `${Math.round(capacityPerSecond)} events/s; ratio to the receiver alone ${(capacityPerSecond / baseline.requests.average).toFixed(3)}`);
    line('deliveries', `${succeeded} succeeded, ${attempts} attempts, ${streamed.total + drained.total - 2 * EVENTS} duplicate requests`);
    line('peak RSS', `${Math.round(process.resourceUsage().maxRSS / 1024)} MB (emitter + dispatcher), receiver ${Math.round(drained.maxRssMb)} MB`);
    line('target', `keeps up (delivered ≥ offered, capacity ≥ 1,000/s): ${keepsUp ? 'yes' : 'NO'}; p99 < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'yes' : 'NO'} → ${met ? 'met' : 'MISSED'}`);
  } finally {
    await runner?.stop();
    dispatcher.close();
    receiver.kill();
    await api.close();
    await worker.close();
    await drop();
  }
}

if (process.argv[2] === '--receiver') runReceiver();
else await main();
