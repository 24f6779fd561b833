import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { eventBody, newWebhookSecret, sign, signatureHeaders } from '../../src/modules/webhooks/webhooks.signing.js';

describe('signing', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(s);
  });

  it('signs as the standardwebhooks library does', () => {
    const secret = newWebhookSecret();
    const at = new Date('2026-11-23T15:00:00.789Z');
    const body = eventBody({ id: 'evt_1', type: 'payment.succeeded', createdAt: at, data: { amount_cents: 100, nome: 'João' } });
    expect(sign(secret, 'evt_1', Math.floor(at.getTime() / 1000), body)).toBe(new Webhook(secret).sign('evt_1', at, body));
  });

  it('adds the previous secret while it lives', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const at = new Date('2026-11-23T15:00:00Z');
    const live = signatureHeaders({ secret: current, previousSecret: previous, previousSecretExpiresAt: new Date(at.getTime() + 1) }, 'evt_1', at, '{}');
    expect(live['webhook-signature']!.split(' ')).toEqual([sign(current, 'evt_1', 1795446000, '{}'), sign(previous, 'evt_1', 1795446000, '{}')]);
    expect(live['webhook-timestamp']).toBe('1795446000');
    expect(live['webhook-id']).toBe('evt_1');
    const expired = signatureHeaders({ secret: current, previousSecret: previous, previousSecretExpiresAt: at }, 'evt_1', at, '{}');
    expect(expired['webhook-signature']!.split(' ')).toHaveLength(1);
  });

  it('keeps the body to id, type, created_at, data', () => {
    const body = eventBody({ id: 'evt_1', type: 'import.completed', createdAt: new Date('2026-11-23T15:00:00Z'), data: { id: 'imp' } });
    expect(body).toBe('{"id":"evt_1","type":"import.completed","created_at":"2026-11-23T15:00:00.000Z","data":{"id":"imp"}}');
  });
});
