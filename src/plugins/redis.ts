// The optional Redis client (REDIS_URL), shared by the rate limiter and /readyz. Redis is
// an optimisation: while it is down every command fails at once (no offline queue, no
// retries) and its callers fall back to what the instance knows alone.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis, type RedisOptions } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    /** null without REDIS_URL. */
    redis: Redis | null;
  }
}

const REDIS_OPTIONS = {
  // Connect explicitly at start-up, so that the first requests find it ready.
  lazyConnect: true,
  // A command sent while disconnected fails at once instead of waiting for a reconnection.
  enableOfflineQueue: false,
  // A command caught by a dropped connection fails at once instead of being resent.
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  // A Redis that accepts connections but does not answer.
  commandTimeout: 500,
  connectionName: 'quita',
} satisfies RedisOptions;

/** Whether Redis answers now (a PING, bounded by the command timeout). */
export async function redisState(redis: Redis): Promise<'ok' | 'down'> {
  if (redis.status !== 'ready') return 'down';
  try {
    await redis.ping();
    return 'ok';
  } catch {
    return 'down';
  }
}

/** Where Redis is, for logs: never the user name or password the URL may hold. */
function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
}

/** One warning when an outage begins and one line when it ends; ioredis reports every reconnection attempt. */
function watchOutages(redis: Redis, url: string, log: FastifyBaseLogger): void {
  const address = redisAddress(url);
  const password = decodeURIComponent(new URL(url).password);
  let down = false;
  redis.on('error', (err: NodeJS.ErrnoException) => {
    if (down) return;
    down = true;
    const reason = password ? err.message.split(password).join('[redacted]') : err.message;
    log.warn({ redis: address, code: err.code, reason }, 'Redis is unreachable: rate limits count per instance until it is back');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ redis: address }, 'Redis is reachable again: rate limits are shared again');
  });
}

async function redisPlugin(app: FastifyInstance): Promise<void> {
  const { redisUrl } = app.deps.config;
  if (!redisUrl) {
    app.decorate('redis', null);
    return;
  }
  const redis = new Redis(redisUrl, REDIS_OPTIONS);
  watchOutages(redis, redisUrl, app.log);
  app.decorate('redis', redis);
  // A failed first connection is not fatal: ioredis keeps trying in the background.
  await redis.connect().catch(() => {});
  app.addHook('onClose', async () => {
    // quit() waits for Redis to answer, so only while connected; disconnect() also stops reconnecting.
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
}

export default fp(redisPlugin, { name: 'redis', dependencies: ['deps'] });
