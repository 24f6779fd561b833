// The job that sends webhooks. A round claims due deliveries under a lease, POSTs them
// (at most `concurrency` at once, outside any transaction), and records each answer in
// a group-committed transaction, claiming more as slots free up, until nothing is due.
// Several workers share one queue: SKIP LOCKED gives them disjoint rows, the lease lets
// another take over the rows of a worker that died, and a worker records a result only
// while it still holds the lease.
//
// A round ends when nothing is due (after `idleMs`), or once it has claimed for
// `maxRoundMs`; either way it first waits for the tries in flight, so runner.stop(),
// which waits for the round, waits for them too. The runner's stop aborts the context's
// AbortSignal, and the round stops claiming at once; `maxRoundMs` bounds a round run
// without a signal (its cost: a slow receiver in flight at that moment delays the next
// round's claims).
//
// Wakes: notifyOutbox() (after a commit in this process) ends a running round's wait at
// once. Between rounds the runner waits `busyIntervalMs` for two seconds after a round
// that sent something, `intervalMs` (the poll, which also serves other processes) otherwise.
// All scheduling reads the app clock (ctx.clock), so tests and the admin clock move it;
// leases alone are physical time, on the database's clock (see webhooks.queue.ts).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Job, JobContext } from '../../jobs/runner.js';
import { parseRetryAfter, retryDelayMs } from './webhooks.backoff.js';
import { onOutbox } from './webhooks.events.js';
import { createAgents, postWebhook, type Resolver } from './webhooks.http-client.js';
import { claimDue, recordOutcomes, type AttemptOutcome, type ClaimedDelivery } from './webhooks.queue.js';
import { eventBody, signatureHeaders } from './webhooks.signing.js';

export interface DispatcherOptions {
  /** The whole exchange with the receiver, connection to answer. */
  timeoutMs?: number;
  /** Tries in flight at once. */
  concurrency?: number;
  /**
   * Deliveries claimed by one query (at least `concurrency`). A claimed one may wait for a
   * slot, so batchSize / concurrency × timeoutMs must stay well inside the lease.
   */
  batchSize?: number;
  /** How long a claimed delivery stays this worker's, in real time on the database's clock. */
  leaseMs?: number;
  /** How often a round looks for due work when nothing wakes it. */
  pollMs?: number;
  /** How long a round waits for new work before it ends (0: it ends as soon as nothing is due, so runner.tick() returns promptly). */
  idleMs?: number;
  /** How long a round goes on claiming under steady load before it drains and ends. */
  maxRoundMs?: number;
  /** The least time between two claims, so that a burst of wakes costs one query. */
  claimGapMs?: number;
  /** Between rounds, when the last one found nothing to do (the poll). */
  intervalMs?: number;
  /** Between rounds, for a while after one that sent something: more is likely on its way. */
  busyIntervalMs?: number;
  workerId?: string;
  resolver?: Resolver;
  random?: () => number;
}

export interface WebhookDispatcher extends Job {
  readonly workerId: string;
  /** Closes the keep-alive connections to receivers. */
  close(): void;
}

/** After a round that sent something, rounds follow each other `busyIntervalMs` apart for this long. */
const BUSY_WINDOW_MS = 2_000;

const DEFAULTS = { timeoutMs: 15_000, concurrency: 32, batchSize: 96, leaseMs: 60_000, pollMs: 200, idleMs: 0, maxRoundMs: 10_000, claimGapMs: 10, intervalMs: 200, busyIntervalMs: 10 };

export function createWebhookDispatcher(options: DispatcherOptions = {}): WebhookDispatcher {
  const opts = { ...DEFAULTS, ...options };
  opts.batchSize = Math.max(opts.batchSize, opts.concurrency);
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let agents: ReturnType<typeof createAgents> | undefined;

  async function attempt(ctx: JobContext, d: ClaimedDelivery): Promise<AttemptOutcome> {
    const base = { deliveryId: d.id, creditorId: d.creditorId, endpointId: d.endpointId, attempt: d.attempt };
    const at = ctx.clock.now();
    if (!d.endpointEnabled) {
      return { ...base, at, sent: false, statusCode: null, error: 'endpoint disabled', durationMs: 0, excerpt: null, status: 'failed', nextAttemptAt: null, gone: false };
    }
    const body = eventBody({ id: d.eventId, type: d.eventType, createdAt: d.eventCreatedAt, data: d.eventData });
    const headers = signatureHeaders(d, d.eventId, at, body);
    agents ??= createAgents();
    const result = await postWebhook(d.url, headers, body, {
      timeoutMs: opts.timeoutMs,
      allowPrivate: ctx.config.webhookAllowPrivateUrls,
      agents,
      ...(opts.resolver ? { resolver: opts.resolver } : {}),
    });
    const answered = new Date(at.getTime() + result.durationMs);
    const outcome = { ...base, at, sent: true, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs, excerpt: result.excerpt };
    const code = result.statusCode ?? 0;
    if (code >= 200 && code < 300) return { ...outcome, status: 'succeeded', nextAttemptAt: null, gone: false };
    if (code === 410) return { ...outcome, error: '410 Gone: endpoint disabled', status: 'failed', nextAttemptAt: null, gone: true };
    const delay = retryDelayMs(d.attempt - d.retryBase, { retryAfterMs: parseRetryAfter(result.retryAfter, answered), random: opts.random });
    if (delay === null) return { ...outcome, status: 'failed', nextAttemptAt: null, gone: false };
    return { ...outcome, status: 'pending', nextAttemptAt: new Date(answered.getTime() + delay), gone: false };
  }

  async function run(ctx: JobContext): Promise<number> {
    const { db } = ctx.database;
    const signal = ctx.signal;
    const started = Date.now();
    let lastWork = started;
    let lastClaim = 0;
    let handled = 0;
    const sending = new Set<Promise<void>>();
    const recording = new Set<Promise<void>>();

    // Group commit: answers that arrive while a batch is being written go in the next one.
    let buffer: AttemptOutcome[] = [];
    let flushing: Promise<void> | undefined;
    const flush = async (): Promise<void> => {
      while (buffer.length > 0) {
        const batch = buffer;
        buffer = [];
        try {
          await db.transaction((tx) => recordOutcomes(tx, workerId, batch));
        } catch (err) {
          // The leases run out and the tries are made again: late, never lost.
          ctx.log.error({ err: (err as Error).message, deliveries: batch.length }, 'webhook results not recorded');
        }
      }
      flushing = undefined; // in the same turn as the empty check: no answer is left behind
    };
    const record = (outcome: AttemptOutcome): Promise<void> => {
      buffer.push(outcome);
      flushing ??= flush();
      return flushing;
    };

    // One wait at a time, ended early by a wake (new work, a free slot); a wake that comes
    // while the loop is busy makes the next wait return at once.
    let wakeUp: (() => void) | undefined;
    let woken = false;
    const wake = () => {
      if (wakeUp) wakeUp();
      else woken = true;
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          return resolve();
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      });
    const unsubscribe = onOutbox(wake);

    const start = (delivery: ClaimedDelivery) => {
      const sent = attempt(ctx, delivery)
        .then((outcome) => {
          if (outcome.status !== 'succeeded') ctx.log.debug({ delivery: delivery.id, attempt: delivery.attempt, error: outcome.error }, 'webhook try failed');
          const recorded = record(outcome);
          recording.add(recorded);
          void recorded.finally(() => recording.delete(recorded));
        })
        .catch((err: Error) => ctx.log.error({ err: err.message, delivery: delivery.id }, 'webhook try crashed'))
        .finally(() => {
          sending.delete(sent);
          wake();
        });
      sending.add(sent);
    };

    // Claimed (leased to this worker) and waiting for a free slot.
    const queue: ClaimedDelivery[] = [];
    const fill = () => {
      while (sending.size < opts.concurrency && queue.length > 0) start(queue.shift()!);
    };

    try {
      for (;;) {
        const claiming = !signal?.aborted && Date.now() - started < opts.maxRoundMs;
        woken = false;
        // Claim in batches larger than the send bound, so that one query feeds many sends;
        // claim again when what is left would not fill the free slots.
        if (claiming && queue.length < opts.concurrency) {
          // Wakes come with every commit: one claim serves the ones that arrive within the gap.
          const gap = opts.claimGapMs - (Date.now() - lastClaim);
          if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
          lastClaim = Date.now();
          const due = await claimDue(db, { now: ctx.clock.now(), leaseMs: opts.leaseMs, workerId, limit: opts.batchSize - queue.length });
          queue.push(...due);
          handled += due.length;
          if (due.length > 0) lastWork = Date.now();
        }
        fill();
        const idleFor = Date.now() - lastWork;
        // What is claimed is sent even when claiming has stopped: it is leased to us.
        if (sending.size === 0 && queue.length === 0 && (!claiming || idleFor >= opts.idleMs)) break;
        await sleep(sending.size > 0 ? opts.pollMs : Math.min(opts.pollMs, Math.max(0, opts.idleMs - idleFor)));
      }
    } finally {
      // Also when a claim failed: what was sent is recorded before the round ends.
      unsubscribe();
      await Promise.allSettled([...sending]);
      await Promise.allSettled([...recording]);
      if (flushing) await flushing;
    }
    return handled;
  }

  let lastBusy = 0;
  return {
    name: 'webhook-dispatcher',
    // The runner reads this each time it schedules the next round.
    get intervalMs() {
      return Date.now() - lastBusy < BUSY_WINDOW_MS ? opts.busyIntervalMs : opts.intervalMs;
    },
    workerId,
    async run(ctx: JobContext) {
      const handled = await run(ctx);
      if (handled > 0) lastBusy = Date.now();
      return handled;
    },
    close() {
      agents?.http.destroy();
      agents?.https.destroy();
      agents = undefined;
    },
  };
}

export const webhookDispatcherJob = createWebhookDispatcher();
