// The background jobs alone (`npm run worker`). Needs PostgreSQL: an embedded database
// belongs to the one server process that opened it.
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { loadConfigOrExit } from './config.js';
import { openPostgres, runMigrations } from './db/client.js';
import { AdjustableClock } from './lib/clock.js';
import { loggerOptions } from './lib/logger.js';
import { startJobRunner } from './jobs/runner.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config.databaseUrl) {
    console.error('npm run worker needs DATABASE_URL (a postgres:// URL): with the embedded database, the server runs the jobs itself.');
    process.exit(1);
  }
  // The server's logger options: the same redaction of CPFs, tokens and secrets (CONTRACT §9).
  const log = pino(loggerOptions(config, Boolean(process.stdout.isTTY)) as pino.LoggerOptions);
  const database = openPostgres(config.databaseUrl);
  await runMigrations(database);
  const runner = startJobRunner({ database, clock: new AdjustableClock(), config, log });
  // The runner's timers are unref'd (they must not hold a server open), and pooled
  // connections are all this process would otherwise have: when the database restarts and
  // drops them, the event loop would empty and the worker would quietly exit 0. It runs
  // until it is told to stop.
  const keepAlive = setInterval(() => {}, 60_000);
  log.info('worker started');
  closeWithGrace({ delay: 30_000 }, async ({ signal }) => {
    log.info({ signal }, 'worker stopping');
    clearInterval(keepAlive);
    await runner.stop();
    await database.close();
  });
}

await main();
