// Request hygiene that no route should have to remember.
//
// - A NUL character (U+0000) anywhere in the input (path parameters, query, a JSON or form
//   body, keys included) is refused with 422 before the route runs. PostgreSQL cannot
//   store it in a text column, so it would otherwise surface as a 500; no field of this
//   API or of the portal has a use for it. A route whose handler refuses it item by item
//   (the JSON batch of debts, where each item stands alone) says so with
//   `config: { bodyRefusesNul: true }`, and its body is left to it.
// - A JSON body with a `__proto__` key, or a `constructor` holding a `prototype`, is
//   refused with 422 naming the key (it is well-formed JSON, so not a 400, and such keys
//   are how prototype pollution travels); Fastify's own parser would answer that the body
//   is not JSON.
// - API answers are not kept by browsers or proxies (`Cache-Control: no-store`) unless the
//   route says otherwise: they carry CPFs, balances, secrets and tokens.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, errors } from '../lib/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler refuses NUL characters in the body itself: the global guard checks only the path and query. */
    bodyRefusesNul?: boolean;
  }
}

const NUL = '\u0000';
const MESSAGE = 'must not contain the NUL character (U+0000)';

/** Parsed data (JSON, a form, a query string): arrays and plain objects, those of fast-querystring included (no prototype chain). */
function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null;
}

/** The dotted path of the first NUL in `value` (a key or a string), or undefined; iterative, so any depth is safe. */
export function findNul(value: unknown, base = ''): string | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? base : undefined;
  if (!isPlainContainer(value)) return undefined;
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: base }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) return path;
      continue;
    }
    if (!isPlainContainer(current) || seen.has(current)) continue;
    seen.add(current);
    for (const [key, child] of Object.entries(current)) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes(NUL)) return childPath;
      if (typeof child === 'string' || isPlainContainer(child)) stack.push({ value: child, path: childPath });
    }
  }
  return undefined;
}

/** The dotted path of the first `__proto__` key or `constructor.prototype` in a parsed JSON value. */
export function findPrototypeKey(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  const at = (path: string, key: string) => (path ? `${path}.${key}` : key);
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (Object.hasOwn(current, '__proto__')) return at(path, '__proto__');
    const ctor = (current as { constructor?: unknown }).constructor;
    if (Object.hasOwn(current, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      return at(at(path, 'constructor'), 'prototype');
    }
    for (const [key, child] of Object.entries(current)) stack.push({ value: child, path: at(path, key) });
  }
  return undefined;
}

const malformedJson = () => new AppError(400, 'malformed_json', 'Bad Request', 'The request body is not valid JSON.');

function parseJson(text: string): unknown {
  if (text.length === 0) throw malformedJson();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformedJson();
  }
  // Only text that names such a key can hold one: the common body skips the walk.
  if (text.includes('__proto__') || text.includes('prototype') || text.includes('\\u')) {
    const path = findPrototypeKey(value);
    if (path !== undefined) throw errors.unprocessable('The request body holds a forbidden key.', [{ path, message: 'forbidden key' }]);
  }
  return value;
}

function refuseNul(request: FastifyRequest): void {
  const bodyToo = request.routeOptions.config.bodyRefusesNul !== true;
  for (const [where, value] of [
    ['params', request.params],
    ['query', request.query],
    ['body', bodyToo ? request.body : undefined],
  ] as const) {
    const path = findNul(value);
    if (path !== undefined) {
      throw errors.unprocessable(`The request ${where === 'params' ? 'path' : where} holds a NUL character.`, [{ path, message: MESSAGE }]);
    }
  }
}

async function inputGuardPlugin(app: FastifyInstance): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Synchronous hooks: an async one costs every request a promise and a turn of the microtask queue.
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      refuseNul(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}

export default fp(inputGuardPlugin, { name: 'input-guard' });
