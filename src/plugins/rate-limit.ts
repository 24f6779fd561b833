// @fastify/rate-limit, for the routes that set `config.rateLimit`. With REDIS_URL the
// counters are shared by every instance; while Redis is down or does not answer each
// instance counts alone.
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redisWithFallbackStore } from './rate-limit-store.js';

async function rateLimitPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: false,
    ...(app.redisBreaker ? { store: redisWithFallbackStore(app.redisBreaker, 'quita-rl:') } : {}),
    // The store never fails (it falls back to memory); were it to, refuse rather than let guesses through.
    skipOnError: false,
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['redis'] });
