// When a failed delivery is tried again (CONTRACT §4.7): fixed delays after each try,
// stretched by up to 10 % jitter so that a burst of failures does not retry in lockstep,
// never shortened; a longer Retry-After (up to 24 h) wins.
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The delay after try 1, 2, … 7; try 8 is the last. */
export const RETRY_DELAYS_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
export const MAX_RETRY_AFTER_MS = 24 * HOUR;
export const JITTER = 0.1;

/**
 * The delay before the next try after `tries` failed tries (counted since the delivery
 * began or was last redelivered by hand), or null when none is left.
 */
export function retryDelayMs(tries: number, opts: { retryAfterMs?: number | null; random?: () => number } = {}): number | null {
  if (tries < 1 || tries >= MAX_ATTEMPTS) return null;
  const base = RETRY_DELAYS_MS[tries - 1]!;
  const jittered = Math.floor(base * (1 + JITTER * (opts.random ?? Math.random)()));
  const retryAfter = Math.min(opts.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return Math.max(jittered, retryAfter);
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * SECOND;
  // An HTTP date starts with the day's name (IMF-fixdate, RFC 850 or asctime).
  if (!/^[A-Za-z]{3}/.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now.getTime());
}
