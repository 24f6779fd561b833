// The real app, on this file's own database, with a clock the test can move.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import supertest from 'supertest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { AdjustableClock } from '../../src/lib/clock.js';
import { createTestDatabase } from './db.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  request: supertest.Agent;
  database: Database;
  clock: AdjustableClock;
  config: Config;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  return loadConfig(
    { NODE_ENV: 'test', ADMIN_TOKEN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', PUBLIC_URL: 'http://quita.test', ...env },
    { secretKey: 'test-secret-key-that-is-long-enough-0123456789', dataDir: mkdtempSync(path.join(tmpdir(), 'quita-data-')), ...overrides },
  );
}

export async function buildTestApp(opts: { config?: Partial<Config>; env?: Record<string, string>; database?: Database; now?: Date; logger?: unknown } = {}): Promise<TestApp> {
  const database = opts.database ?? (await createTestDatabase());
  const clock = new AdjustableClock();
  clock.set(opts.now ?? new Date('2026-11-23T12:00:00-03:00'));
  const config = testConfig(opts.config, opts.env);
  const app = await buildApp({ config, database, clock, ...(opts.logger ? { logger: opts.logger as never } : {}) });
  await app.ready();
  const request = supertest.agent(app.server);
  return {
    app,
    request,
    database,
    clock,
    config,
    async close() {
      await app.close();
      await database.close();
    },
  };
}
