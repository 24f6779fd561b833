// A real webhook receiver on 127.0.0.1: records every request with its raw body, and
// answers as the test says. Signatures are checked with the `standardwebhooks` package,
// as a creditor's server would check them.
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { webhookDeliveries } from '../../src/db/schema/index.js';
import type { DispatcherOptions } from '../../src/modules/webhooks/webhooks.dispatcher.js';
import { createWebhookDispatcher } from '../../src/modules/webhooks/webhooks.dispatcher.js';
import { emitEvent } from '../../src/modules/webhooks/webhooks.events.js';
import type { JobContext } from '../../src/jobs/runner.js';
import type { TestApp } from './app.js';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  /** Real time of arrival. */
  receivedAt: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer only after this long (to play a slow receiver). */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** How the next requests are answered (default 200). */
  respond(fn: (req: ReceivedWebhook, index: number) => Reply): void;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hooks'): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let responder: (req: ReceivedWebhook, index: number) => Reply = () => ({ status: 200, body: 'ok' });
  const server: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  server.post(path, async (request, reply) => {
    const hit: ReceivedWebhook = { headers: request.headers as Record<string, string>, body: request.body as string, receivedAt: Date.now() };
    received.push(hit);
    const answer = responder(hit, received.length - 1);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    for (const [k, v] of Object.entries(answer.headers ?? {})) reply.header(k, v);
    return reply.code(answer.status ?? 200).type('text/plain').send(answer.body ?? '');
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    respond(fn) {
      responder = fn;
    },
    close: () => server.close(),
  };
}

/**
 * Verifies a delivery as a receiver whose clock reads `now` would (the library checks the
 * timestamp against Date.now(), and the tests run on a moved app clock).
 */
export function verifyAt(secret: string, hit: ReceivedWebhook, now: Date): unknown {
  const realNow = Date.now;
  Date.now = () => now.getTime();
  try {
    return new Webhook(secret).verify(hit.body, hit.headers);
  } finally {
    Date.now = realNow;
  }
}

/** A dispatcher for tests (short timeout, jitter fixed at its maximum unless told) and the job context to run it. */
export function testDispatcher(t: TestApp, options: DispatcherOptions = {}) {
  const dispatcher = createWebhookDispatcher({ timeoutMs: 1_000, random: () => 0.999, ...options });
  const ctx: JobContext = { database: t.database, clock: t.clock, config: t.config, log: t.app.log };
  return {
    dispatcher,
    ctx,
    run: () => dispatcher.run(ctx),
  };
}

/** Emits an `import.completed` event for `creditorId` (id `imp_<tag>`), at the app clock's now; its id. */
export async function emitImportCompleted(t: TestApp, creditorId: string, tag: string): Promise<string> {
  const at = t.clock.now();
  const data = { id: `imp_${tag}`, status: 'completed' as const, dry_run: false, rows_total: 1, rows_imported: 1, rows_rejected: 0, created_at: at.toISOString(), finished_at: at.toISOString() };
  const { id } = await t.database.db.transaction((tx) => emitEvent(tx, { creditorId, type: 'import.completed', data, at }));
  return id;
}

/** The (one) delivery row of an event. */
export async function deliveryRow(t: TestApp, eventId: string) {
  const [row] = await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId));
  return row!;
}
