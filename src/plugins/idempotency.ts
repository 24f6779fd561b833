// Idempotency-Key on every POST (CONTRACT §4): the same key from the same caller within
// 24 h returns the first response and does nothing again; the same key with another body
// answers 422. The key is claimed before the handler runs, so two concurrent requests with
// one key never both run; a 5xx releases it so that a retry can succeed.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { idempotencyKeys } from '../db/schema/index.js';
import { errors } from '../lib/errors.js';
import { sha256 } from '../lib/ids.js';

const WINDOW_MS = 24 * 3600 * 1000;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { scope: string; key: string };
  }
  interface FastifyInstance {
    /** preHandler for a POST route, after authentication: `scope` names the caller. */
    idempotent(scopeOf: (request: FastifyRequest) => string): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | void>;
    /**
     * The same check for a route whose body is a stream (imports): call it once the body's
     * hash is known. Answers the stored reply (and returns true) for a replay.
     */
    idempotencyCheck(request: FastifyRequest, reply: FastifyReply, scope: string, bodyHash: string): Promise<boolean>;
  }
}

function requestHash(request: FastifyRequest): string {
  const body = request.body === undefined ? '' : JSON.stringify(request.body);
  return sha256(`${request.method} ${request.url}\n${body}`);
}

async function idempotencyPlugin(app: FastifyInstance): Promise<void> {
  const { database, clock } = app.deps;
  const db = database.db;

  /** Claims the key, or answers the stored reply; true when the reply was sent. */
  async function check(request: FastifyRequest, reply: FastifyReply, scope: string, hash: string): Promise<boolean> {
    const raw = request.headers['idempotency-key'];
    if (raw === undefined) return false;
    const key = Array.isArray(raw) ? raw[0]! : raw;
    if (key.length < 1 || key.length > 255) {
      throw errors.unprocessable('Idempotency-Key must be 1–255 characters.', [{ path: 'Idempotency-Key', message: 'must be 1–255 characters' }]);
    }
    const now = clock.now();
    await db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key), lt(idempotencyKeys.createdAt, new Date(now.getTime() - WINDOW_MS))));
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ scope, key, requestHash: hash, createdAt: now })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (claimed.length > 0) {
      request.idempotency = { scope, key };
      return false;
    }
    const [existing] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    if (!existing) throw errors.conflict('A request with this Idempotency-Key is in progress; retry shortly.', 'idempotency_in_progress');
    if (existing.requestHash !== hash) {
      throw errors.unprocessable('This Idempotency-Key was used with a different request.', [{ path: 'Idempotency-Key', message: 'reused with a different body' }], 'idempotency_key_reused');
    }
    if (existing.statusCode === null) throw errors.conflict('A request with this Idempotency-Key is in progress; retry shortly.', 'idempotency_in_progress');
    const stored = existing.responseBody as { contentType: string; payload: string } | null;
    reply.header('idempotent-replayed', 'true');
    if (stored?.contentType) reply.type(stored.contentType);
    await reply.code(existing.statusCode).send(stored?.payload ?? '');
    return true;
  }

  app.decorate('idempotencyCheck', check);
  app.decorate('idempotent', (scopeOf: (request: FastifyRequest) => string) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.headers['idempotency-key'] === undefined) return;
    if (await check(request, reply, scopeOf(request), requestHash(request))) return reply;
  });

  async function store(request: FastifyRequest, reply: FastifyReply, payload: unknown, claim: { scope: string; key: string }): Promise<unknown> {
    const where = and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key));
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      await db.delete(idempotencyKeys).where(where);
      return payload;
    }
    const contentType = String(reply.getHeader('content-type') ?? 'application/json');
    await db
      .update(idempotencyKeys)
      .set({ statusCode: reply.statusCode, responseBody: sql`${JSON.stringify({ contentType, payload })}::jsonb` })
      .where(where);
    return payload;
  }

  // Every answer passes here; only a claimed key costs more than a property read.
  app.addHook('onSend', (request, reply, payload, done) => {
    const claim = request.idempotency;
    if (!claim) {
      done(null, payload);
      return;
    }
    request.idempotency = undefined;
    store(request, reply, payload, claim).then((stored) => done(null, stored), (err: Error) => done(err));
  });
}

export default fp(idempotencyPlugin, { name: 'idempotency', dependencies: ['deps'] });
