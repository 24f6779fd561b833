import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { decodeCursor, page } from '../../lib/pagination.js';
import { randomBytes } from 'node:crypto';
import { notifyOutbox } from './webhooks.events.js';
import { createWebhookRepository, type EndpointRow, type EventRow } from './webhooks.repository.js';
import type { CreateEndpointInput } from './webhooks.schemas.js';
import { newWebhookSecret } from './webhooks.signing.js';
import { blockedHostReason } from './ssrf.js';

/** Each endpoint receives a copy of every event: a bound keeps one creditor from fanning out without end. */
export const MAX_ENDPOINTS_PER_CREDITOR = 20;

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000;

const newEndpointId = () => `we_${randomBytes(12).toString('hex')}`;

export function toEndpoint(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    status: row.status,
    disabled_reason: row.disabledReason,
    created_at: row.createdAt.toISOString(),
    disabled_at: row.disabledAt?.toISOString() ?? null,
  };
}

export function toEvent(row: EventRow) {
  return { id: row.id, type: row.type, created_at: row.createdAt.toISOString(), data: row.data as Record<string, unknown> };
}

export function createWebhookService(deps: { db: Db; clock: Clock; allowPrivateUrls: boolean }) {
  const { db, clock } = deps;
  const repo = createWebhookRepository(db);

  const endpointOr404 = async (creditorId: string, id: string) => {
    const row = await repo.findEndpoint(creditorId, id);
    if (!row) throw errors.notFound('Webhook endpoint');
    return row;
  };

  return {
    async createEndpoint(creditorId: string, input: CreateEndpointInput) {
      if (!deps.allowPrivateUrls) {
        const reason = blockedHostReason(new URL(input.url).hostname);
        if (reason) throw errors.unprocessable('The webhook URL is not allowed.', [{ path: 'url', message: `not a public address: ${reason}` }]);
      }
      if ((await repo.countEndpoints(creditorId)) >= MAX_ENDPOINTS_PER_CREDITOR) {
        throw errors.conflict(`A creditor may have at most ${MAX_ENDPOINTS_PER_CREDITOR} webhook endpoints; delete one first.`, 'endpoint_limit');
      }
      const now = clock.now();
      const secret = newWebhookSecret();
      const row = await repo.insertEndpoint({
        id: newEndpointId(),
        creditorId,
        url: input.url,
        events: [...new Set(input.events ?? [])],
        status: 'enabled',
        secret,
        createdAt: now,
        updatedAt: now,
      });
      return { ...toEndpoint(row), secret };
    },

    async getEndpoint(creditorId: string, id: string) {
      return toEndpoint(await endpointOr404(creditorId, id));
    },

    async listEndpoints(creditorId: string, query: { limit: number; cursor?: string }) {
      const rows = await repo.listEndpoints(creditorId, query.limit, decodeCursor(query.cursor));
      return page(rows, query.limit, toEndpoint);
    },

    async deleteEndpoint(creditorId: string, id: string): Promise<void> {
      const deleted = await db.transaction((tx) => createWebhookRepository(tx).deleteEndpoint(creditorId, id, clock.now()));
      if (!deleted) throw errors.notFound('Webhook endpoint');
    },

    /** A new secret; the old one keeps signing beside it for 24 h, so receivers can switch without losing a delivery. */
    async rotateSecret(creditorId: string, id: string) {
      const now = clock.now();
      return db.transaction(async (tx) => {
        const txRepo = createWebhookRepository(tx);
        const current = await txRepo.findEndpoint(creditorId, id);
        if (!current) throw errors.notFound('Webhook endpoint');
        const secret = newWebhookSecret();
        await txRepo.updateEndpoint(creditorId, id, {
          secret,
          previousSecret: current.secret,
          previousSecretExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_TTL_MS),
          updatedAt: now,
        });
        return { secret };
      });
    },

    /** Back on after a 410; deliveries stopped meanwhile stay failed, redeliverable by hand. */
    async enableEndpoint(creditorId: string, id: string) {
      await endpointOr404(creditorId, id);
      const row = await repo.updateEndpoint(creditorId, id, { status: 'enabled', disabledAt: null, disabledReason: null, updatedAt: clock.now() });
      if (!row) throw errors.notFound('Webhook endpoint');
      return toEndpoint(row);
    },

    async listEvents(creditorId: string, query: { limit: number; cursor?: string; type?: string }) {
      const rows = await repo.listEvents(creditorId, { limit: query.limit, cursor: decodeCursor(query.cursor), ...(query.type ? { type: query.type } : {}) });
      return page(rows, query.limit, toEvent);
    },

    async getEvent(creditorId: string, id: string) {
      const event = await repo.findEvent(creditorId, id);
      if (!event) throw errors.notFound('Event');
      const attempts = await repo.listAttempts(creditorId, id);
      return {
        ...toEvent(event),
        deliveries: attempts.map((a) => ({
          endpoint_id: a.endpointId,
          attempt: a.attempt,
          at: a.at.toISOString(),
          status_code: a.statusCode,
          error: a.error,
          duration_ms: a.durationMs,
          response_excerpt: a.responseExcerpt,
        })),
      };
    },

    /**
     * Sends the event again, now, to one endpoint or to every enabled endpoint subscribed
     * to its type (also those created after it), each with a fresh retry schedule.
     */
    async redeliver(creditorId: string, eventId: string, endpointId?: string) {
      const result = await db.transaction(async (tx) => {
        const txRepo = createWebhookRepository(tx);
        // Locked, so that the retention job cannot delete the event it is requeued for.
        const event = await txRepo.lockEvent(creditorId, eventId);
        if (!event) throw errors.notFound('Event');
        let targets: EndpointRow[];
        if (endpointId !== undefined) {
          const endpoint = await txRepo.findEndpoint(creditorId, endpointId);
          if (!endpoint) throw errors.notFound('Webhook endpoint');
          if (endpoint.status !== 'enabled') throw errors.conflict('The endpoint is disabled; enable it first.', 'endpoint_disabled');
          if (endpoint.events.length > 0 && !endpoint.events.includes(event.type)) {
            throw errors.conflict(`The endpoint does not subscribe to ${event.type} events.`, 'endpoint_not_subscribed');
          }
          targets = [endpoint];
        } else {
          targets = await txRepo.subscribedEndpoints(creditorId, event.type);
          if (targets.length === 0) throw errors.conflict(`No enabled endpoint subscribes to ${event.type} events.`, 'no_endpoint');
        }
        const now = clock.now();
        for (const target of targets) await txRepo.requeue(event, target.id, now);
        return { event_id: event.id, endpoint_ids: targets.map((t) => t.id) };
      });
      notifyOutbox();
      return result;
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
