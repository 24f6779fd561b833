import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, MAX_RETRY_AFTER_MS, parseRetryAfter, RETRY_DELAYS_MS, retryDelayMs } from '../../src/modules/webhooks/webhooks.backoff.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('retryDelayMs', () => {
  it('follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; 8 tries in all', () => {
    expect(RETRY_DELAYS_MS).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H]);
    expect(MAX_ATTEMPTS).toBe(8);
    for (let tries = 1; tries < 8; tries++) expect(retryDelayMs(tries, { random: () => 0 })).toBe(RETRY_DELAYS_MS[tries - 1]);
    expect(retryDelayMs(8)).toBeNull();
    expect(retryDelayMs(0)).toBeNull();
  });

  it('stretches by 0–10 %, never shortens', () => {
    for (let tries = 1; tries < 8; tries++) {
      const base = RETRY_DELAYS_MS[tries - 1]!;
      for (let i = 0; i < 200; i++) {
        const d = retryDelayMs(tries)!;
        expect(d).toBeGreaterThanOrEqual(base);
        expect(d).toBeLessThanOrEqual(base * 1.1);
      }
      expect(retryDelayMs(tries, { random: () => 0.999999 })!).toBeLessThanOrEqual(base * 1.1);
    }
  });

  it('takes a longer Retry-After, held to 24 h', () => {
    expect(retryDelayMs(1, { random: () => 0, retryAfterMs: 60 * S })).toBe(60 * S);
    expect(retryDelayMs(2, { random: () => 0, retryAfterMs: 60 * S })).toBe(5 * M);
    expect(retryDelayMs(1, { random: () => 0, retryAfterMs: 7 * 24 * H })).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelayMs(8, { retryAfterMs: 60 * S })).toBeNull();
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-23T15:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120 * S);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 16:00:00 GMT', now)).toBe(H);
    expect(parseRetryAfter('Mon, 23 Nov 2026 14:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
  });
});
