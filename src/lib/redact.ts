// What never reaches a log: whole CPFs (formatted or 11 bare digits), link tokens,
// secrets and bearer tokens. Applied to every string a log line carries.

const CPF_LIKE = /(?<![0-9A-Za-z])(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?![0-9A-Za-z])/g;
const SECRET_LIKE = /\b(whsec|qs|qlt|sk|rk|Bearer)[_ ][A-Za-z0-9+/=_.-]{8,}/g;
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
const LINK_PATH = /\/a\/[A-Za-z0-9_-]{8,}/g;

export function scrub(text: string): string {
  return text
    .replace(CPF_LIKE, '***.$2.$3-**')
    .replace(JWT_LIKE, '[jwt]')
    .replace(SECRET_LIKE, '$1_[redacted]')
    .replace(LINK_PATH, '/a/[token]');
}

/** Header-like keys whose values are credentials wherever they appear (a plugin may log a request's headers). */
const SENSITIVE_KEYS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'stripe-signature', 'webhook-signature']);

export function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  if (value instanceof Error) {
    // The cause carries the real reason (a driver error under drizzle's "Failed query").
    const { code, cause } = value as { code?: unknown; cause?: unknown };
    return {
      type: value.name,
      message: scrub(value.message),
      stack: value.stack ? scrub(value.stack) : undefined,
      code,
      ...(cause === undefined ? {} : { cause: scrubDeep(cause, depth + 1) }),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE_KEYS.has(k.toLowerCase()) ? '[redacted]' : scrubDeep(v, depth + 1);
  return out;
}
