// The delivery queue's two short transactions: claim due deliveries under a lease
// (FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows), and record what
// the tries answered. The HTTP call happens between them, outside any transaction.
//
// Two clocks meet here. When a try is due (next_attempt_at) is business time: the app
// clock, which the admin API moves. A lease (locked_until) is physical time, taken and
// judged on the database's clock alone (clock_timestamp()), so that neither a moved app
// clock nor a worker's skewed machine clock makes a fresh lease look expired.
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints, webhookEvents } from '../../db/schema/index.js';

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  creditorId: string;
  /** This try's number, counted from the delivery's first. */
  attempt: number;
  /** Tries made before the last manual redelivery: the retry schedule counts from there. */
  retryBase: number;
  eventType: string;
  eventData: unknown;
  eventCreatedAt: Date;
  url: string;
  endpointEnabled: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

export interface AttemptOutcome {
  deliveryId: string;
  creditorId: string;
  endpointId: string;
  attempt: number;
  at: Date;
  /** False when nothing was sent (the endpoint had been disabled): no attempt is written. */
  sent: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  excerpt: string | null;
  /** pending with nextAttemptAt, succeeded, or failed (no tries left). */
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
  /** The receiver answered 410 Gone: disable the endpoint. */
  gone: boolean;
}

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (result as { rows: Row[] }).rows;
const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const asDateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : asDate(v));

/** No worker holds the delivery: never leased, or its lease ran out on the database's clock. */
export const leaseFree = () => sql`(${webhookDeliveries.lockedUntil} IS NULL OR ${webhookDeliveries.lockedUntil} <= clock_timestamp())`;

/**
 * Claims up to `limit` deliveries due by the app clock (`now`) and not leased, under a
 * lease of `leaseMs` on the database's clock.
 */
export async function claimDue(db: Executor, opts: { now: Date; leaseMs: number; workerId: string; limit: number }): Promise<ClaimedDelivery[]> {
  const now = opts.now.toISOString();
  const result = await db.execute(sql`
    WITH due AS (
      SELECT id FROM ${webhookDeliveries}
      WHERE status = 'pending' AND next_attempt_at <= ${now}::timestamptz
        AND ${leaseFree()}
      ORDER BY next_attempt_at
      LIMIT ${opts.limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE ${webhookDeliveries} d
      SET locked_until = clock_timestamp() + make_interval(secs => ${opts.leaseMs / 1000}::double precision),
          claimed_by = ${opts.workerId}, attempts = d.attempts + 1, updated_at = ${now}::timestamptz
      FROM due WHERE d.id = due.id
      RETURNING d.id, d.event_id, d.endpoint_id, d.creditor_id, d.attempts, d.retry_base
    )
    SELECT c.id, c.event_id, c.endpoint_id, c.creditor_id, c.attempts, c.retry_base,
           ev.type, ev.data, ev.created_at AS event_created_at,
           ep.url, ep.status = 'enabled' AND ep.deleted_at IS NULL AS endpoint_enabled,
           ep.secret, ep.previous_secret, ep.previous_secret_expires_at
    FROM claimed c
    JOIN ${webhookEvents} ev ON ev.id = c.event_id
    JOIN ${webhookEndpoints} ep ON ep.id = c.endpoint_id`);
  return rowsOf(result).map((r) => ({
    id: String(r.id),
    eventId: String(r.event_id),
    endpointId: String(r.endpoint_id),
    creditorId: String(r.creditor_id),
    attempt: Number(r.attempts),
    retryBase: Number(r.retry_base),
    eventType: String(r.type),
    eventData: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
    eventCreatedAt: asDate(r.event_created_at),
    url: String(r.url),
    endpointEnabled: r.endpoint_enabled === true,
    secret: String(r.secret),
    previousSecret: r.previous_secret === null ? null : String(r.previous_secret),
    previousSecretExpiresAt: asDateOrNull(r.previous_secret_expires_at),
  }));
}

/**
 * Records a batch of tries in one transaction. A delivery is updated only while this
 * worker still holds the lease of this very try (a redelivery by hand, or a takeover
 * after an expired lease, wins); the attempt itself is history and is always kept. A retry scheduled for
 * an endpoint that meanwhile stopped being enabled fails instead.
 */
export async function recordOutcomes(tx: Executor, workerId: string, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  // Losing the last few results to a database crash only means sending those again, which
  // receivers tolerate (they dedupe on webhook-id): no need to wait for the WAL flush.
  await tx.execute(sql`SET LOCAL synchronous_commit = off`);
  const attempts = outcomes.filter((o) => o.sent).map(
    (o) => sql`(${o.deliveryId}::uuid, ${o.creditorId}::uuid, ${o.attempt}::int, ${o.at.toISOString()}::timestamptz, ${o.statusCode}::int, ${o.error}::text, ${o.durationMs}::int, ${o.excerpt}::text)`,
  );
  if (attempts.length > 0) {
    await tx.execute(sql`
      INSERT INTO ${webhookDeliveryAttempts} (delivery_id, creditor_id, attempt, at, status_code, error, duration_ms, response_excerpt)
      VALUES ${sql.join(attempts, sql`, `)}`);
  }

  const gone = [...new Set(outcomes.filter((o) => o.gone).map((o) => o.endpointId))];
  for (const endpointId of gone) {
    const at = outcomes.find((o) => o.endpointId === endpointId)!.at.toISOString();
    await tx.execute(sql`
      UPDATE ${webhookEndpoints}
      SET status = 'disabled', disabled_at = ${at}::timestamptz, disabled_reason = 'the endpoint answered 410 Gone', updated_at = ${at}::timestamptz
      WHERE id = ${endpointId} AND status = 'enabled'`);
  }

  const values = outcomes.map(
    (o) =>
      sql`(${o.deliveryId}::uuid, ${o.attempt}::int, ${o.status}::text, ${o.nextAttemptAt?.toISOString() ?? null}::timestamptz, ${o.at.toISOString()}::timestamptz, ${o.statusCode}::int, ${o.error}::text)`,
  );
  await tx.execute(sql`
    UPDATE ${webhookDeliveries} d
    SET status = CASE WHEN v.status = 'pending' AND NOT (ep.status = 'enabled' AND ep.deleted_at IS NULL) THEN 'failed' ELSE v.status END,
        next_attempt_at = CASE WHEN v.status = 'pending' AND ep.status = 'enabled' AND ep.deleted_at IS NULL THEN v.next_attempt_at END,
        locked_until = NULL, claimed_by = NULL,
        last_attempt_at = v.at, last_status_code = v.status_code, last_error = v.error, updated_at = v.at
    FROM (VALUES ${sql.join(values, sql`, `)}) AS v(id, attempt, status, next_attempt_at, at, status_code, error),
         ${webhookEndpoints} ep
    WHERE d.id = v.id AND ep.id = d.endpoint_id AND d.claimed_by = ${workerId} AND d.attempts = v.attempt`);

  // The queue of a newly disabled endpoint stops; a try in flight elsewhere fails when recorded.
  for (const endpointId of gone) {
    const at = outcomes.find((o) => o.endpointId === endpointId)!.at.toISOString();
    await tx.execute(sql`
      UPDATE ${webhookDeliveries}
      SET status = 'failed', next_attempt_at = NULL, last_error = 'endpoint disabled', updated_at = ${at}::timestamptz
      WHERE endpoint_id = ${endpointId} AND status = 'pending' AND ${leaseFree()}`);
  }
}
