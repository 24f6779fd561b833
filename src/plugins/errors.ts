// One error handler: problem+json (RFC 9457) for the API, an HTML page for the portal.
// 5xx details are logged with the request id and never sent.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type FieldError } from '../lib/errors.js';
import { scrub, scrubDeep } from '../lib/redact.js';

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function isApiRequest(request: FastifyRequest): boolean {
  const url = request.url;
  return url.startsWith('/api/') || url.startsWith('/docs') || url.startsWith('/webhooks/') || url === '/metrics';
}

interface ZodLikeIssue {
  instancePath: string;
  message: string;
  keyword: string;
  params?: { keys?: string[] };
}

function validationErrors(issues: ZodLikeIssue[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = issue.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
    if (issue.keyword === 'unrecognized_keys' && issue.params?.keys) {
      for (const key of issue.params.keys) out.push({ path: base ? `${base}.${key}` : key, message: 'unknown field' });
    } else {
      out.push({ path: base, message: issue.message });
    }
  }
  return out;
}

/** Maps anything thrown to an AppError; undefined for a true server fault. */
export function toAppError(error: FastifyError | Error): AppError | undefined {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const fields = validationErrors(error.validation as unknown as ZodLikeIssue[]);
    const where = (error as FastifyError).validationContext;
    return new AppError(422, 'validation_failed', STATUS_TITLES[422]!, `The request ${where ?? 'input'} is invalid.`, fields);
  }
  const fe = error as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError(400, 'malformed_json', STATUS_TITLES[400]!, 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError(413, 'payload_too_large', STATUS_TITLES[413]!, 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(415, 'unsupported_media_type', STATUS_TITLES[415]!, `Unsupported content type: ${String(fe.message).replace(/^Unsupported Media Type: ?/, '')}.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(400, 'bad_request', STATUS_TITLES[400]!, 'Invalid Content-Length.');
  }
  if (error instanceof SyntaxError && fe.statusCode === 400) {
    return new AppError(400, 'malformed_json', STATUS_TITLES[400]!, 'The request body is not valid JSON.');
  }
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, fe.code ? fe.code.toLowerCase() : 'client_error', STATUS_TITLES[status] ?? 'Client Error', fe.message);
  }
  return undefined;
}

export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .type('application/problem+json; charset=utf-8')
    .send({
      type: `https://quita.dev/problems/${err.code.replace(/_/g, '-')}`,
      title: err.title,
      status: err.status,
      detail: err.detail,
      errors: err.errors,
    });
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a
 * malformed URL, an over-long path parameter), answered like every other error, without
 * echoing the path.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const err = new AppError(status, status === 414 ? 'uri_too_long' : 'bad_request', STATUS_TITLES[status] ?? 'Bad Request', status === 414 ? 'The request path is too long.' : 'The request URL is malformed.');
  // No hook has run (helmet's included): the headers every other answer carries, set here.
  reply
    .header('content-security-policy', "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer');
  if (isApiRequest(request)) {
    sendProblem(reply, err);
    return;
  }
  // This reply is not the app's (no decorators, so no renderPage): a page of its own.
  reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send('<!doctype html><html lang="pt-BR"><meta charset="utf-8"><title>Pedido inválido</title><h1>Pedido inválido</h1><p>Não conseguimos entender o endereço. Volte e tente de novo.</p></html>');
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let appError = toAppError(error);
    if (!appError) {
      request.log.error({ err: scrubDeep(error), reqId: request.id }, 'unhandled error');
      appError = new AppError(
        500,
        'internal_error',
        STATUS_TITLES[500]!,
        `Something went wrong on our side. Reference: ${request.id}.`,
      );
    }
    if (isApiRequest(request)) return sendProblem(reply, appError);
    for (const [k, v] of Object.entries(appError.headers)) reply.header(k, v);
    return reply.code(appError.status).renderPage('error', { status: appError.status, reference: request.id, retryAfter: appError.headers['retry-after'] });
  });

  app.setNotFoundHandler(async (request, reply) => {
    const err = new AppError(404, 'not_found', STATUS_TITLES[404]!, `No route ${request.method} ${scrub(request.url.split('?')[0] ?? '')}.`);
    if (isApiRequest(request)) return sendProblem(reply, err);
    return reply.code(404).renderPage('error', { status: 404, reference: request.id });
  });
}

export default fp(errorsPlugin, { name: 'errors', dependencies: ['view'] });
