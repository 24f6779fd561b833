// Errors with a stable code and HTTP status; one handler turns them into
// problem+json for the API and an error page for the portal.

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
  get detail(): string {
    return this.message;
  }
}

export const errors = {
  badRequest: (detail: string, code = 'bad_request') => new AppError(400, code, 'Bad Request', detail),
  unauthorized: (detail = 'Missing, expired or invalid credentials.') =>
    new AppError(401, 'unauthorized', 'Unauthorized', detail, [], { 'www-authenticate': 'Bearer' }),
  notFound: (what = 'Resource') => new AppError(404, 'not_found', 'Not Found', `${what} not found.`),
  conflict: (detail: string, code = 'conflict') => new AppError(409, code, 'Conflict', detail),
  payloadTooLarge: (detail = 'Request body is too large.') => new AppError(413, 'payload_too_large', 'Payload Too Large', detail),
  unsupportedMediaType: (detail: string) => new AppError(415, 'unsupported_media_type', 'Unsupported Media Type', detail),
  unprocessable: (detail: string, fieldErrors: FieldError[] = [], code = 'validation_failed') =>
    new AppError(422, code, 'Unprocessable Content', detail, fieldErrors),
  tooManyRequests: (retryAfterSeconds: number) =>
    new AppError(429, 'rate_limited', 'Too Many Requests', `Too many requests; retry in ${retryAfterSeconds} s.`, [], {
      'retry-after': String(retryAfterSeconds),
    }),
};

/** `['bands', 1, 'cash_discount_pct']` → `bands.1.cash_discount_pct` */
export function dottedPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => String(p)).join('.');
}
