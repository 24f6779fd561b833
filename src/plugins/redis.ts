// The optional Redis client (REDIS_URL), shared by the rate limiter and /readyz. Redis is
// an optimisation: while it is down or does not answer, nothing waits for it (no offline
// queue, no retries, a circuit breaker after a failed command) and its callers fall back
// to what the instance knows alone.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis, type RedisOptions } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    /** null without REDIS_URL. */
    redis: Redis | null;
    /** Whether to send Redis a command now; null without REDIS_URL. */
    redisBreaker: RedisBreaker | null;
  }
}

/** How long, after a failed or timed-out command, nothing is sent to Redis before one probe. */
export const REDIS_COOL_DOWN_MS = 3_000;

const REDIS_OPTIONS = {
  // Connect explicitly at start-up, so that the first requests find it ready.
  lazyConnect: true,
  // A command sent while disconnected fails at once instead of waiting for a reconnection.
  enableOfflineQueue: false,
  // A command caught by a dropped connection fails at once instead of being resent.
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  // A Redis that accepts connections but does not answer: the command fails after 500 ms...
  commandTimeout: 500,
  // ...and a connection that received nothing for 500 ms while a command waited is dead
  // (a partition or a hung Redis keeps it open for ~15 min of TCP retransmissions): ioredis
  // destroys it (an `error` event, so the outage is logged), fails what it still queued and
  // reconnects with its usual backoff.
  socketTimeout: 500,
  connectionName: 'quita',
} satisfies RedisOptions;

/** The outcome of one command that the breaker let through: report exactly one. */
export interface RedisAttempt {
  succeeded(): void;
  failed(err: Error): void;
}

/**
 * A circuit breaker in front of Redis, shared by everything that sends it commands (the
 * rate-limit store and /readyz), and the outage log (one warning when an outage begins, one
 * info line when it ends; ioredis reports every reconnection attempt, and a Redis that
 * stops answering reports nothing at all).
 *
 * Closed: commands go to Redis while the client is connected. A failed or timed-out command
 * opens it: for `coolDownMs` nothing is sent (callers count locally at once), then one
 * command goes through as a probe while the others still do without; its success closes
 * the breaker, its failure opens it again. A (re)connection (`ready`) closes it too: Redis
 * has just answered the connection's INFO.
 */
export class RedisBreaker {
  private openUntil = 0;
  private probing = false;
  private down = false;
  private readonly address: string;
  private readonly password: string;

  constructor(
    readonly redis: Redis,
    url: string,
    private readonly log: FastifyBaseLogger,
    private readonly coolDownMs = REDIS_COOL_DOWN_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.address = redisAddress(url);
    this.password = decodeURIComponent(new URL(url).password);
    redis.on('error', (err: NodeJS.ErrnoException) => this.outageBegins(err));
    redis.on('ready', () => this.close());
  }

  /** null: do without Redis now. Otherwise send one command and report how it went. */
  attempt(): RedisAttempt | null {
    // Not connected: ioredis would refuse the command anyway (no offline queue).
    if (this.redis.status !== 'ready') return null;
    let probe = false;
    if (this.openUntil !== 0) {
      if (this.now() < this.openUntil || this.probing) return null;
      this.probing = probe = true;
    }
    let settled = false;
    return {
      succeeded: () => {
        if (settled) return;
        settled = true;
        // A command sent before the breaker opened proves nothing about now; a probe does.
        if (probe) this.close();
      },
      failed: (err) => {
        if (settled) return;
        settled = true;
        if (probe) this.probing = false;
        this.openUntil = this.now() + this.coolDownMs;
        this.outageBegins(err as NodeJS.ErrnoException);
      },
    };
  }

  private close(): void {
    this.openUntil = 0;
    this.probing = false;
    if (!this.down) return;
    this.down = false;
    this.log.info({ redis: this.address }, 'Redis is reachable again: rate limits are shared again');
  }

  private outageBegins(err: NodeJS.ErrnoException): void {
    if (this.down) return;
    this.down = true;
    const reason = this.password ? err.message.split(this.password).join('[redacted]') : err.message;
    this.log.warn({ redis: this.address, code: err.code, reason }, 'Redis is unreachable: rate limits count per instance until it is back');
  }
}

/** Whether Redis answers now: a PING (bounded by the command timeout) unless the breaker is open. */
export async function redisState(breaker: RedisBreaker): Promise<'ok' | 'down'> {
  const attempt = breaker.attempt();
  if (!attempt) return 'down';
  try {
    await breaker.redis.ping();
    attempt.succeeded();
    return 'ok';
  } catch (err) {
    attempt.failed(err as Error);
    return 'down';
  }
}

/** Where Redis is, for logs: never the user name or password the URL may hold. */
function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
}

async function redisPlugin(app: FastifyInstance): Promise<void> {
  const { redisUrl } = app.deps.config;
  if (!redisUrl) {
    app.decorate('redis', null);
    app.decorate('redisBreaker', null);
    return;
  }
  const redis = new Redis(redisUrl, REDIS_OPTIONS);
  app.decorate('redis', redis);
  app.decorate('redisBreaker', new RedisBreaker(redis, redisUrl, app.log));
  // A failed first connection is not fatal: ioredis keeps trying in the background.
  await redis.connect().catch(() => {});
  app.addHook('onClose', async () => {
    // quit() waits for Redis to answer, so only while connected; disconnect() also stops reconnecting.
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
}

export default fp(redisPlugin, { name: 'redis', dependencies: ['deps'] });
