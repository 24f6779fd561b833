// A rate-limit store that counts in Redis while it answers and in this instance's memory
// while it does not: a Redis outage loosens the limit to one per instance, never lifts it
// and never fails the request (skipOnError would lift it; failing would answer 500). The
// breaker (src/plugins/redis.ts) decides whether to try Redis at all, so that a Redis that
// stopped answering costs one command timeout per cool-down, not one per request.
import { createRequire } from 'node:module';
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor, RateLimitOptions } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { RedisBreaker } from './redis.js';

// @fastify/rate-limit's own stores (it exports neither): the same Lua scripts and LRU it uses
// when given `redis` alone. Pinned by package-lock; test/http/redis-down.test.ts drives both.
const require = createRequire(import.meta.url);
type Callback = Parameters<FastifyRateLimitStore['incr']>[1];
type ChildOptions = Parameters<FastifyRateLimitStore['child']>[0];
/** `read` is not in the package's types, but both its stores have it (for `{ increment: false }`). */
type Store = FastifyRateLimitStore & { read(key: string, callback: Callback, timeWindow: number, max: number): void };
const RedisStore = require('@fastify/rate-limit/store/RedisStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  key?: string,
) => Store;
const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => Store;

class FallbackStore implements Store {
  constructor(
    private readonly breaker: RedisBreaker,
    private readonly shared: Store,
    private readonly local: Store,
  ) {}

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.either('incr', key, callback, timeWindow, max);
  }

  /** The count without counting (`{ increment: false }` in @fastify/rate-limit 11). */
  read(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.either('read', key, callback, timeWindow, max);
  }

  child(routeOptions: ChildOptions): FastifyRateLimitStore {
    return new FallbackStore(this.breaker, this.shared.child(routeOptions) as Store, this.local.child(routeOptions) as Store);
  }

  private either(method: 'incr' | 'read', key: string, callback: Callback, timeWindow: number, max: number): void {
    const locally = () => this.local[method](key, callback, timeWindow, max);
    const attempt = this.breaker.attempt();
    if (!attempt) return locally();
    try {
      this.shared[method](
        key,
        (err, result) => {
          if (err) {
            attempt.failed(err);
            return locally();
          }
          attempt.succeeded();
          callback(null, result);
        },
        timeWindow,
        max,
      );
    } catch (err) {
      // every attempt is reported, or a probe would stay open and the breaker with it
      attempt.failed(err as Error);
      locally();
    }
  }
}

/** The `store` option of @fastify/rate-limit: Redis keys under `nameSpace`, memory when the breaker says so. */
export function redisWithFallbackStore(breaker: RedisBreaker, nameSpace: string): FastifyRateLimitStoreCtor {
  return class extends FallbackStore {
    constructor(options: RateLimitOptions) {
      const continueExceeding = options.continueExceeding ?? false;
      const exponentialBackoff = options.exponentialBackoff ?? false;
      super(breaker, new RedisStore(continueExceeding, exponentialBackoff, breaker.redis, nameSpace), new LocalStore(continueExceeding, exponentialBackoff, options.cache));
    }
  };
}
