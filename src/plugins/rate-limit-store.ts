// A rate-limit store that counts in Redis while it answers and in this instance's memory
// while it does not: a Redis outage loosens the limit to one per instance, never lifts it
// and never fails the request (skipOnError would lift it; failing would answer 500).
import { createRequire } from 'node:module';
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor, RateLimitOptions } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

// @fastify/rate-limit's own stores (it exports neither): the same Lua script and LRU it uses
// when given `redis` alone. Pinned by package-lock; test/http/redis-down.test.ts drives both.
const require = createRequire(import.meta.url);
type Callback = Parameters<FastifyRateLimitStore['incr']>[1];
type ChildOptions = Parameters<FastifyRateLimitStore['child']>[0];
const RedisStore = require('@fastify/rate-limit/store/RedisStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  key?: string,
) => FastifyRateLimitStore;
const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => FastifyRateLimitStore;

class FallbackStore implements FastifyRateLimitStore {
  constructor(
    private readonly redis: Redis,
    private readonly shared: FastifyRateLimitStore,
    private readonly local: FastifyRateLimitStore,
  ) {}

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    const countLocally = () => this.local.incr(key, callback, timeWindow, max);
    // Not connected: ioredis would refuse the command anyway (no offline queue).
    if (this.redis.status !== 'ready') return countLocally();
    this.shared.incr(key, (err, result) => (err ? countLocally() : callback(null, result)), timeWindow, max);
  }

  child(routeOptions: ChildOptions): FastifyRateLimitStore {
    return new FallbackStore(this.redis, this.shared.child(routeOptions), this.local.child(routeOptions));
  }
}

/** The `store` option of @fastify/rate-limit: Redis keys under `nameSpace`, memory when Redis fails. */
export function redisWithFallbackStore(redis: Redis, nameSpace: string): FastifyRateLimitStoreCtor {
  return class extends FallbackStore {
    constructor(options: RateLimitOptions) {
      const continueExceeding = options.continueExceeding ?? false;
      const exponentialBackoff = options.exponentialBackoff ?? false;
      super(redis, new RedisStore(continueExceeding, exponentialBackoff, redis, nameSpace), new LocalStore(continueExceeding, exponentialBackoff, options.cache));
    }
  };
}
