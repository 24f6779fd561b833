// The background jobs: one loop that runs each job on its interval. In the server
// process on PGlite (one process owns the embedded database), alone with `npm run worker`
// on PostgreSQL. Jobs claim their rows with FOR UPDATE SKIP LOCKED, so several runners
// never do the same work twice.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { AdjustableClock, type Clock } from '../lib/clock.js';
import { syncClock } from '../lib/clock-sync.js';
import { idempotencyCleanupJob } from './idempotency-cleanup.js';
import { webhookDispatcherJob } from '../modules/webhooks/webhooks.dispatcher.js';
import { portalRetentionJob } from './portal-retention.js';
import { prescribeDebtsJob } from './prescribe-debts.js';
import { webhookRetentionJob } from './webhook-retention.js';
import { lifecycleJob } from '../modules/agreements/lifecycle.job.js';

export interface JobContext {
  database: Database;
  clock: Clock;
  config: Config;
  log: FastifyBaseLogger;
  /** Aborted when the runner stops: a job ends its round early (claims nothing new). */
  signal?: AbortSignal;
}

export interface Job {
  name: string;
  intervalMs: number;
  /** Runs one round; returns how many items it handled. */
  run(ctx: JobContext): Promise<number>;
}

export const JOBS: Job[] = [idempotencyCleanupJob, prescribeDebtsJob, portalRetentionJob, webhookRetentionJob, lifecycleJob, webhookDispatcherJob];

export interface JobRunner {
  /** Runs every job once, now (tests and the admin clock use it). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startJobRunner(ctx: JobContext, jobs: Job[] = JOBS, opts: { autostart?: boolean } = {}): JobRunner {
  let stopped = false;
  const abort = new AbortController();
  ctx = { ...ctx, signal: abort.signal };
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<unknown>>();

  async function runOnce(job: Job): Promise<void> {
    try {
      if (!ctx.config.isProduction && ctx.clock instanceof AdjustableClock) await syncClock(ctx.database.db, ctx.clock);
      const handled = await job.run(ctx);
      if (handled > 0) ctx.log.debug({ job: job.name, handled }, 'job round');
    } catch (err) {
      ctx.log.error({ job: job.name, err: (err as Error).message }, 'job failed; will retry');
    }
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  }

  function schedule(job: Job): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void track(runOnce(job)).then(() => schedule(job));
    }, job.intervalMs);
    timer.unref();
    timers.add(timer);
  }

  if (opts.autostart !== false) for (const job of jobs) schedule(job);

  return {
    async tick() {
      for (const job of jobs) await track(runOnce(job));
    },
    async stop() {
      stopped = true;
      abort.abort();
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...inFlight]);
    },
  };
}
