import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redisState } from './redis.js';

async function healthPlugin(app: FastifyInstance): Promise<void> {
  const { database, readiness } = app.deps;

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Redis (when REDIS_URL is set) is reported, never required: without it rate limits count
  // per instance (CONTRACT §1: readiness is the database and the migrations), and failing
  // readiness on it would take every instance out of the load balancer at once.
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    if (!readiness.migrated) return reply.code(503).send({ status: 'starting', database: 'unknown', migrations: 'pending' });
    try {
      await database.db.execute(sql`SELECT 1`);
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'readiness: database unreachable');
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable', migrations: 'applied' });
    }
    return { status: 'ready', database: 'ok', migrations: 'applied', ...(app.redisBreaker ? { redis: await redisState(app.redisBreaker) } : {}) };
  });
}

export default fp(healthPlugin, { name: 'health', dependencies: ['deps', 'redis'] });
