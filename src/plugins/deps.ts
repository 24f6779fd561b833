import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { AdjustableClock } from '../lib/clock.js';

export interface Deps {
  config: Config;
  database: Database;
  clock: AdjustableClock;
  readiness: { migrated: boolean };
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: Deps;
  }
}

async function depsPlugin(app: FastifyInstance, deps: Deps): Promise<void> {
  app.decorate('deps', deps);
}

export default fp(depsPlugin, { name: 'deps' });
