// The app factory: plugins, then modules, registered explicitly. Tests build the same app.
import fastifyFormbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { openDatabase, runMigrations, type Database } from './db/client.js';
import { AdjustableClock } from './lib/clock.js';
import { loggerOptions } from './lib/logger.js';
import { syncClock } from './lib/clock-sync.js';
import { scrub } from './lib/redact.js';
import { agreementsApi } from './modules/agreements/agreements.api.js';
import { creditorsApi } from './modules/creditors/creditors.api.js';
import portalPlugin from './modules/portal/portal.plugin.js';
import { portalRoutes } from './modules/portal/portal.routes.js';
import { webhooksApi } from './modules/webhooks/webhooks.api.js';
import { negotiationApi } from './modules/negotiation/negotiation.api.js';
import { paymentsRoutes } from './modules/payments/payments.routes.js';
import { portfolioApi } from './modules/portfolio/portfolio.api.js';
import authPlugin from './plugins/auth.js';
import depsPlugin from './plugins/deps.js';
import errorsPlugin, { frameworkErrors } from './plugins/errors.js';
import healthPlugin from './plugins/health.js';
import idempotencyPlugin from './plugins/idempotency.js';
import inputGuardPlugin from './plugins/input-guard.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import redisPlugin from './plugins/redis.js';
import securityHeadersPlugin from './plugins/security-headers.js';
import staticPlugin from './plugins/static.js';
import viewPlugin from './plugins/view.js';

export interface BuildAppOptions {
  config: Config;
  /** An open database; when omitted, one is opened from the config and closed with the app. */
  database?: Database;
  clock?: AdjustableClock;
  logger?: FastifyServerOptions['logger'];
}

/** The server's logger options (kept in lib/logger.ts, shared with the worker). */
export { loggerOptions };

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? new AdjustableClock();
  const ownsDatabase = !options.database;
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));

  const app = Fastify({
    logger: options.logger ?? loggerOptions(config, false),
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Only JSON (and forms, below) by default: a text/plain body answers 415, not a 422 about a string.
  app.removeContentTypeParser('text/plain');

  const readiness = { migrated: false };
  await app.register(depsPlugin, { config, database, clock, readiness });
  if (ownsDatabase) app.addHook('onClose', async () => database.close());

  // Request logs: method, route pattern, status and time; never the raw URL, headers or body.
  // Not even a no-op hook when the level leaves them out (LOG_LEVEL=warn in production).
  const log = app.log as { isLevelEnabled?: (level: string) => boolean };
  if (log.isLevelEnabled?.('info') ?? true) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        { method: request.method, route: request.routeOptions.url ?? scrub(request.url.split('?')[0] ?? ''), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
      done();
    });
  }

  await app.register(viewPlugin, { production: config.env !== 'development' });
  await app.register(errorsPlugin);
  // helmet's headers, computed once at startup (src/plugins/security-headers.ts)
  await app.register(securityHeadersPlugin, {
    helmet: {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", 'https://js.stripe.com'],
          frameSrc: ["'self'", 'https://js.stripe.com', 'https://hooks.stripe.com'],
          connectSrc: ["'self'", 'https://api.stripe.com'],
          imgSrc: ["'self'", 'data:'],
          styleSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
          upgradeInsecureRequests: config.isProduction ? [] : null,
        },
      },
      strictTransportSecurity: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'no-referrer' },
    },
  });
  await app.register(redisPlugin);
  await app.register(rateLimitPlugin);
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
  await app.register(openapiPlugin);
  await app.register(metricsPlugin);
  await app.register(healthPlugin);
  await app.register(staticPlugin);
  await app.register(authPlugin);
  await app.register(idempotencyPlugin);
  await app.register(inputGuardPlugin);

  await app.register(portalPlugin);
  await app.register(creditorsApi);
  await app.register(agreementsApi);
  await app.register(portalRoutes);
  await app.register(paymentsRoutes);
  await app.register(webhooksApi);
  await app.register(negotiationApi);
  await app.register(portfolioApi);

  await runMigrations(database);
  readiness.migrated = true;
  if (!config.isProduction) {
    // The moved clock (admin API) is shared through the database by every instance.
    await syncClock(database.db, clock);
    if (database.kind === 'postgres') {
      const timer = setInterval(() => void syncClock(database.db, clock).catch(() => {}), 1000);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  }
  return app;
}
