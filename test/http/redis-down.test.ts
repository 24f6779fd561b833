// Redis (REDIS_URL) is an optimisation: while it is down, or up but not answering, nothing
// answers 500 or waits for it, the rate limits count per instance instead of being lifted,
// the CPF lockout (in the database) holds, /readyz says so but stays 200, one warning is
// logged per outage, and the app closes without leaving the process held open.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debtorLinks } from '../../src/db/schema/index.js';
import { projectPath } from '../../src/lib/paths.js';
import { RedisBreaker } from '../../src/plugins/redis.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { redisAnswers, until } from '../helpers/processes.js';
import { seedCreditor } from '../helpers/seed.js';
import { agent, csrfOf, newCpf, seedPortal } from './portal-helpers.js';

// Nothing listens on port 1; the password must never reach a log.
const REDIS_PASSWORD = 'redis-pass-7f3c2a9e';
const CLOSED_REDIS_URL = `redis://:${REDIS_PASSWORD}@127.0.0.1:1`;
const REAL_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A client address of its own for each run: real Redis keeps counters for a minute between runs. */
function freshIp(): string {
  const n = () => Math.floor(Math.random() * 250) + 1;
  return `198.18.${n()}.${n()}`;
}

/** The app's log lines, parsed. */
function logSink() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return {
    logger: { level: 'info', stream },
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const redisLines = (lines: Record<string, unknown>[], level: number) => lines.filter((l) => l.level === level && /Redis/.test(String(l.msg)));

/** `count` GETs of /a/{token} from `ip`; their statuses. */
async function gets(t: TestApp, ip: string, count: number): Promise<number[]> {
  const a = agent(t);
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await a.get(`/a/some-token-value-${i}`).set('X-Forwarded-For', ip)).status);
  return statuses;
}

/** `count` GETs of /a/{token} from `ip`; their statuses and durations (ms). */
async function timedGets(t: TestApp, ip: string, count: number): Promise<{ statuses: number[]; ms: number[] }> {
  const a = agent(t);
  const statuses: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    statuses.push((await a.get(`/a/some-token-value-${i}`).set('X-Forwarded-For', ip)).status);
    ms.push(performance.now() - started);
  }
  return { statuses, ms };
}

describe('with REDIS_URL pointing at a port where nothing listens', () => {
  let t: TestApp;
  const logs = logSink();
  let errorEvents = 0;

  beforeAll(async () => {
    t = await buildTestApp({ config: { trustProxy: true, redisUrl: CLOSED_REDIS_URL }, logger: logs.logger });
    t.app.redis!.on('error', () => errorEvents++);
  });
  afterAll(async () => t.close());

  it('answers the portal link page, the CPF form and /auth/token normally', async () => {
    const p = await seedPortal(t);
    const a = agent(t);
    const page = await a.get(`/a/${p.link.token}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<label for="cpf">CPF</label>');
    const opened = await a.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrfOf(page.text), cpf: p.cpf });
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/dividas');
    expect((await a.get('/dividas')).status).toBe(200);

    const token = await t.request.post('/api/v1/auth/token').send({ client_id: p.creditor.clientId, client_secret: p.creditor.clientSecret });
    expect(token.status).toBe(200);
    expect(token.body.token_type).toBe('Bearer');
    // Counted (in this instance's memory), not skipped.
    expect(token.headers['x-ratelimit-limit']).toBe('120');
    expect(Number(token.headers['x-ratelimit-remaining'])).toBeLessThan(120);
    expect((await t.request.post('/api/v1/auth/token').send({ client_id: p.creditor.clientId, client_secret: 'wrong' })).status).toBe(401);
  });

  it('still limits /a/{token} by address, per instance', async () => {
    const ip = freshIp();
    const statuses = await gets(t, ip, 61);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
    const limited = await agent(t).get('/a/another-token').set('X-Forwarded-For', ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.text).toMatch(/Tente de novo em \d+ segundos/);
    expect((await agent(t).get('/a/another-token').set('X-Forwarded-For', freshIp())).status).toBe(200);
  });

  it('keeps the CPF lockout, which lives in the database', async () => {
    const p = await seedPortal(t);
    const a = agent(t);
    const csrf = csrfOf((await a.get(`/a/${p.link.token}`)).text);
    const wrong = newCpf();
    const statuses: number[] = [];
    for (const cpf of [wrong, wrong, wrong, wrong, wrong, p.cpf]) statuses.push((await a.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrf, cpf })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    const [link] = await t.database.db.select().from(debtorLinks).where(eq(debtorLinks.id, p.link.id));
    expect(link!.lockouts).toBe(1);
    expect(link!.lockedUntil).not.toBeNull();
  });

  it('/readyz answers 200 and reports Redis down', async () => {
    const ready = await t.request.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: 'ok', migrations: 'applied', redis: 'down' });
  });

  it('logs one warning for the outage however often ioredis retries, without the password', async () => {
    await until(() => errorEvents >= 4, 10_000, 'several reconnection attempts');
    const warnings = redisLines(logs.lines(), 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ redis: 'redis://127.0.0.1:1', code: 'ECONNREFUSED' });
    expect(logs.text()).not.toContain(REDIS_PASSWORD);
    expect(logs.text()).not.toMatch(/\[ioredis\]|"level":50/);
  });
});

describe('the Redis circuit breaker', () => {
  const PASSWORD = 's3cret-pw';
  function setUp() {
    const client = Object.assign(new EventEmitter(), { status: 'ready' });
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const log = {
      warn: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', obj, msg }),
      info: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'info', obj, msg }),
    } as unknown as FastifyBaseLogger;
    const clock = { now: 0 };
    const breaker = new RedisBreaker(client as unknown as Redis, `redis://:${PASSWORD}@cache.internal:6380`, log, 3_000, () => clock.now);
    const of = (level: string) => lines.filter((l) => l.level === level);
    return { client, breaker, clock, of, lines };
  }

  it('after a failure sends nothing for the cool-down, then one probe at a time; one warning and one "back" line', () => {
    const { breaker, clock, of, lines } = setUp();
    breaker.attempt()!.failed(new Error('Command timed out'));
    expect(of('warn')).toEqual([
      { level: 'warn', obj: { redis: 'redis://cache.internal:6380', code: undefined, reason: 'Command timed out' }, msg: 'Redis is unreachable: rate limits count per instance until it is back' },
    ]);
    expect(breaker.attempt()).toBeNull();
    clock.now = 2_999;
    expect(breaker.attempt()).toBeNull();

    clock.now = 3_000;
    const probe = breaker.attempt();
    expect(probe).not.toBeNull();
    expect(breaker.attempt()).toBeNull(); // the probe is still out
    probe!.failed(new Error('Command timed out'));
    expect(breaker.attempt()).toBeNull();
    clock.now = 5_999;
    expect(breaker.attempt()).toBeNull();

    clock.now = 6_000;
    breaker.attempt()!.succeeded();
    expect(breaker.attempt()).not.toBeNull();
    expect(breaker.attempt()).not.toBeNull();
    expect(of('warn')).toHaveLength(1);
    expect(of('info')).toEqual([{ level: 'info', obj: { redis: 'redis://cache.internal:6380' }, msg: 'Redis is reachable again: rate limits are shared again' }]);
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
  });

  it('is not closed by a command sent before it opened', () => {
    const { breaker } = setUp();
    const early = breaker.attempt()!;
    breaker.attempt()!.failed(new Error('Command timed out'));
    early.succeeded();
    expect(breaker.attempt()).toBeNull();
  });

  it('sends nothing while disconnected, closes on `ready`, and never logs the password', () => {
    const { client, breaker, of, lines } = setUp();
    client.status = 'reconnecting';
    client.emit('error', Object.assign(new Error(`connect failed for :${PASSWORD}@cache.internal`), { code: 'ECONNREFUSED' }));
    client.emit('error', Object.assign(new Error('connect failed again'), { code: 'ECONNREFUSED' }));
    expect(breaker.attempt()).toBeNull();
    expect(of('warn')).toHaveLength(1);
    expect(of('warn')[0]!.obj).toMatchObject({ code: 'ECONNREFUSED', reason: 'connect failed for :[redacted]@cache.internal' });
    client.status = 'ready';
    client.emit('ready');
    expect(breaker.attempt()).not.toBeNull();
    expect(of('info')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
  });
});

describe('a process that builds the app with Redis down', () => {
  it('exits by itself once the app is closed', async () => {
    // No process.exit: the child ends only when nothing (an ioredis reconnection timer) holds it.
    const script = [
      `import { buildApp } from ${JSON.stringify(projectPath('src/app.ts'))};`,
      `import { loadConfig } from ${JSON.stringify(projectPath('src/config.ts'))};`,
      `const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', REDIS_URL: ${JSON.stringify(CLOSED_REDIS_URL)}, DATA_DIR: ${JSON.stringify(mkdtempSync(path.join(tmpdir(), 'quita-redis-down-')))} }, { secretKey: 'test-secret-key-that-is-long-enough-0123456789' });`,
      'const app = await buildApp({ config });',
      "const ready = await app.inject({ method: 'GET', url: '/readyz' });",
      "const page = await app.inject({ method: 'GET', url: '/a/some-token' });",
      'console.log(JSON.stringify({ ready: ready.statusCode, redis: ready.json().redis, page: page.statusCode }));',
      // Past a few reconnection attempts, so that one is pending when the app closes.
      'await new Promise((r) => setTimeout(r, 500));',
      'await app.close();',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: projectPath('.'),
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, output).toBe(0);
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({ ready: 200, redis: 'down', page: 200 });
  }, 60_000);
});

// The real Redis behind a TCP proxy the test can cut: counters shared while it answers,
// per instance while it does not, shared again when it is back.
const redisUp = await redisAnswers(REAL_REDIS_URL);
if (!redisUp) console.warn(`redis-down.test.ts: the outage-and-recovery tests are SKIPPED: Redis does not answer at ${REAL_REDIS_URL}.`);

class RedisProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** false: a black hole, as a network partition or a hung Redis; bytes are dropped, nothing is closed. */
  private forwarding = true;
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect({ host: this.target.hostname, port: Number(this.target.port || 6379) });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => this.forwarding && upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => this.forwarding && client.write(chunk));
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Refuses new connections and drops the open ones, as a Redis that went away. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Keeps every connection open and accepts new ones, but forwards nothing either way. */
  blackHole(): void {
    this.forwarding = false;
  }

  forward(): void {
    this.forwarding = true;
  }
}

/** Two app instances on one database, both reaching Redis through `proxy`; `a` logs into `logger`. */
async function twoInstancesBehind(proxy: RedisProxy, logger: unknown): Promise<[TestApp, TestApp]> {
  await proxy.start();
  const target = new URL(REAL_REDIS_URL);
  target.host = `127.0.0.1:${proxy.port}`;
  const redisUrl = target.toString();
  const a = await buildTestApp({ config: { trustProxy: true, redisUrl }, logger });
  const b = await buildTestApp({ config: { trustProxy: true, redisUrl }, database: a.database });
  return [a, b];
}

const redisOf = async (t: TestApp) => (await t.request.get('/readyz')).body.redis as string;

/** Both instances see Redis, and one address's 60 a minute are counted across both. */
async function expectSharedCounters(a: TestApp, b: TestApp): Promise<void> {
  expect(await redisOf(a)).toBe('ok');
  expect(await redisOf(b)).toBe('ok');
  const ip = freshIp();
  const statuses = [...(await gets(a, ip, 30)), ...(await gets(b, ip, 30))];
  expect(statuses.every((s) => s === 200)).toBe(true);
  expect((await gets(a, ip, 1))[0]).toBe(429);
  expect((await gets(b, ip, 1))[0]).toBe(429);
}

describe.skipIf(!redisUp)(`two instances on one Redis (${REAL_REDIS_URL}) that goes away and comes back`, () => {
  const proxy = new RedisProxy(new URL(REAL_REDIS_URL));
  const logsA = logSink();
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    [a, b] = await twoInstancesBehind(proxy, logsA.logger);
  });
  afterAll(async () => {
    await b?.app.close();
    await a?.close();
    await proxy.cut();
  });

  it('shares the counters while Redis answers', () => expectSharedCounters(a, b));

  it('counts per instance while Redis is gone, and answers everything else normally', async () => {
    let errorEvents = 0;
    a.app.redis!.on('error', () => errorEvents++);
    await proxy.cut();
    await until(async () => (await redisOf(a)) === 'down' && (await redisOf(b)) === 'down', 10_000, 'both instances to see Redis down');
    const ready = await a.request.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: 'ok', redis: 'down' });

    const ip = freshIp();
    const onA = await gets(a, ip, 61);
    expect(onA.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(onA[60]).toBe(429);
    // B never heard of those 61: each instance counts alone.
    expect((await gets(b, ip, 1))[0]).toBe(200);

    const c = await seedCreditor(a);
    expect((await b.request.post('/api/v1/auth/token').send({ client_id: c.clientId, client_secret: c.clientSecret })).status).toBe(200);
    // The first failed reconnection is the start of the outage; the ones after it are not news.
    await until(() => errorEvents >= 3, 10_000, 'several failed reconnections');
    expect(redisLines(logsA.lines(), 40)).toHaveLength(1);
  });

  it('shares the counters again once Redis is back, and says so once', async () => {
    await proxy.start();
    await until(async () => (await redisOf(a)) === 'ok' && (await redisOf(b)) === 'ok', 20_000, 'both instances to reconnect');
    const back = redisLines(logsA.lines(), 30).filter((l) => /again/.test(String(l.msg)));
    expect(back).toHaveLength(1);
    expect(redisLines(logsA.lines(), 40)).toHaveLength(1);

    const ip = freshIp();
    const statuses = [...(await gets(a, ip, 30)), ...(await gets(b, ip, 30))];
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect((await gets(b, ip, 1))[0]).toBe(429);
  });
});

// The same proxy, but it stops forwarding without closing anything: the ioredis client
// stays `ready` and hears no error, so only the command timeout notices.
describe.skipIf(!redisUp)(`two instances on one Redis (${REAL_REDIS_URL}) that stops answering and answers again`, () => {
  const proxy = new RedisProxy(new URL(REAL_REDIS_URL));
  const logsA = logSink();
  let a: TestApp;
  let b: TestApp;
  const errorsOnA: Error[] = [];

  beforeAll(async () => {
    [a, b] = await twoInstancesBehind(proxy, logsA.logger);
    a.app.redis!.on('error', (err: Error) => errorsOnA.push(err));
  });
  afterAll(async () => {
    proxy.forward();
    await b?.app.close();
    await a?.close();
    await proxy.cut();
  });

  it('shares the counters while Redis answers', () => expectSharedCounters(a, b));

  it('does not wait for it: one request pays the command timeout, the rest count locally at once', async () => {
    proxy.blackHole();
    const ip = freshIp();
    const { statuses, ms } = await timedGets(a, ip, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Without the breaker and the socket timeout each one took the full 500 ms command timeout.
    expect(ms.filter((m) => m > 400).length, `durations: ${ms.map(Math.round).join(', ')}`).toBeLessThanOrEqual(2);
    // Still limited, per instance.
    const more = await gets(a, ip, 41);
    expect(more.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(more[40]).toBe(429);
    expect((await gets(b, ip, 1))[0]).toBe(200);
  });

  it('replaces the dead connection instead of queueing commands on it', async () => {
    // ioredis's socketTimeout destroyed it (an `error` event) and flushed what it had queued.
    await until(() => errorsOnA.some((e) => /Socket timeout/.test(e.message)), 10_000, 'the dead connection to be destroyed');
    const { commandQueue } = a.app.redis as unknown as { commandQueue: { length: number } };
    // At most a reconnection's handshake (CLIENT SETNAME, SETINFO ×2, INFO) is waiting.
    expect(commandQueue.length).toBeLessThanOrEqual(4);
  });

  it('/readyz answers 200 at once and reports Redis down; one warning is logged', async () => {
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const ready = await a.request.get('/readyz');
      durations.push(performance.now() - started);
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready', database: 'ok', migrations: 'applied', redis: 'down' });
    }
    expect(durations.filter((m) => m > 400).length, `durations: ${durations.map(Math.round).join(', ')}`).toBeLessThanOrEqual(1);
    const warnings = redisLines(logsA.lines(), 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: 'Redis is unreachable: rate limits count per instance until it is back' });
    expect(logsA.text()).not.toMatch(/\[ioredis\]|"level":50/);
  });

  it('shares the counters again once it answers, and says so once', async () => {
    proxy.forward();
    await until(async () => (await redisOf(a)) === 'ok' && (await redisOf(b)) === 'ok', 20_000, 'both instances to use Redis again');
    const back = redisLines(logsA.lines(), 30).filter((l) => /again/.test(String(l.msg)));
    expect(back).toHaveLength(1);
    expect(redisLines(logsA.lines(), 40)).toHaveLength(1);

    const ip = freshIp();
    const { statuses, ms } = await timedGets(a, ip, 30);
    expect([...statuses, ...(await gets(b, ip, 30))].every((s) => s === 200)).toBe(true);
    expect((await gets(b, ip, 1))[0]).toBe(429);
    expect(ms.filter((m) => m > 400).length).toBe(0);
  });
});
