import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function healthPlugin(app: FastifyInstance): Promise<void> {
  const { database, readiness } = app.deps;

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    if (!readiness.migrated) return reply.code(503).send({ status: 'starting', database: 'unknown', migrations: 'pending' });
    try {
      await database.db.execute(sql`SELECT 1`);
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'readiness: database unreachable');
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable', migrations: 'applied' });
    }
    return { status: 'ready', database: 'ok', migrations: 'applied' };
  });
}

export default fp(healthPlugin, { name: 'health', dependencies: ['deps'] });
