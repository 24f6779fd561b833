// Tenancy and authentication of EVERY creditor route (CONTRACT §4, §4.2), generated from
// the app's own OpenAPI document at run time, so that a route added later is covered
// without anyone remembering to add it here:
//   (a) without a valid token, whatever the input → 401 problem+json (before any 422);
//   (b) with creditor B's token against creditor A's real objects (an import, a debt, a
//       link, an agreement made through the portal, a webhook endpoint, an event, a
//       credential) → 404, never 403 or 2xx, never A's data, and answered exactly as for an
//       id that does not exist; routes without ids show B nothing of A; A's rows are
//       unchanged at the end.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv } from '../helpers/imports.js';
import { seedAgreement } from '../helpers/portal.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { newCpf, rowsOf } from './portal-helpers.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type JsonSchema = Record<string, unknown>;

interface Operation {
  method: Method;
  /** The OpenAPI path, `/api/v1/debts/{external_id}`. */
  path: string;
  key: string;
  pathParams: string[];
  bodySchema: JsonSchema | undefined;
  bodyTypes: string[];
}

interface Input {
  body?: unknown;
  /** `application/json` unless said. */
  contentType?: string;
  query?: Record<string, string>;
}

/** Routes this file cannot exercise meaningfully, with the reason. Empty today: keep it that way. */
const EXCEPTIONS: Record<string, string> = {};

/** What creditor A owns, by the collection segment that precedes a path parameter. */
interface Owned {
  creditor: SeededCreditor;
  cpf: string;
  objects: Record<string, string>;
  /** Strings that would show A's data if they appeared in an answer to B. */
  markers: string[];
}

let t: TestApp;
let a: Owned;
let b: SeededCreditor;
let operations: Operation[];
/** The OpenAPI document the app serves. */
let openapi: JsonSchema;
let snapshotBefore: string;

const A_NAME = 'Credora Alfa Sigilosa';
const A_HOOK = 'http://127.0.0.1:9/alfa-sigilosa-hook';
const A_DEBT = 'ALFA-SIGILOSA-1';
const B_CPF = newCpf();
/** B's own document, so that B's PUT /api/v1/profile is valid (another creditor's would be a 409). */
let callerDocument = '';

/** Minimal valid input per route, beyond what the document's schema gives; `undefined` entries take the schema's. */
function table(owner: Owned, caller: SeededCreditor): Record<string, Input> {
  return {
    'PUT /api/v1/profile': {
      body: {
        name: 'Credora Beta',
        document: callerDocument,
        address: { street: 'Rua B, 2', city: 'Recife', state: 'PE', postal_code: '50010-000' },
        email: `beta-${caller.clientId.slice(3, 9).toLowerCase()}@example.com`,
      },
    },
    'POST /api/v1/links': { body: { cpf: owner.cpf } },
    'POST /api/v1/webhook-endpoints': { body: { url: 'https://example.com/beta-hook' } },
    'POST /api/v1/simulate': { body: { debts: [{ amount_cents: 10_000, due_date: '2026-01-10' }] } },
    'PUT /api/v1/policy': { body: {} },
    'PUT /api/v1/debts': { body: { debts: [{ external_id: 'BETA-1', cpf: B_CPF, name: 'Bia', amount_cents: 5_000, due_date: '2026-10-01' }] } },
    'DELETE /api/v1/debts/{external_id}': { body: { reason: 'withdrawn' } },
    'POST /api/v1/imports': { contentType: 'text/csv', body: `external_id;cpf;nome;valor;vencimento\nBETA-CSV-1;${B_CPF};Bia;10,00;01/10/2026\n` },
    'GET /api/v1/debts': { query: { cpf: owner.cpf } },
    'GET /api/v1/agreements': { query: { status: 'pending' } },
    'GET /api/v1/events': { query: { type: 'agreement.created' } },
  };
}

/** Input that no route accepts: refused with 401 all the same when no valid token comes with it. */
const GARBAGE: Input = { body: { zzz: 1 }, query: { limit: '0', status: 'bogus', cpf: '123', type: 'nope', dry_run: 'perhaps' } };

// ---------------------------------------------------------------------------------------
// The document

function resolveRef(doc: JsonSchema, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let i = 0; i < 10 && typeof current.$ref === 'string'; i++) {
    const parts = (current.$ref as string).replace(/^#\//, '').split('/');
    current = parts.reduce<JsonSchema>((node, part) => (node[part] ?? {}) as JsonSchema, doc);
  }
  return current;
}

/** A minimal value valid for a JSON schema (required properties only), for routes not in the table. */
function sample(doc: JsonSchema, raw: JsonSchema | undefined, depth = 0): unknown {
  if (!raw || depth > 10) return undefined;
  const schema = resolveRef(doc, raw);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  if ('example' in schema) return schema.example;
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return sample(doc, alternatives.find((s) => resolveRef(doc, s).type !== 'null') ?? alternatives[0], depth + 1);
  if (Array.isArray(schema.allOf)) return Object.assign({}, ...(schema.allOf as JsonSchema[]).map((s) => sample(doc, s, depth + 1) as object));
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((x) => x !== 'null') : (schema.type as string | undefined);
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(((schema.required ?? []) as string[]).map((k) => [k, sample(doc, properties[k], depth + 1)]));
    }
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sample(doc, schema.items as JsonSchema, depth + 1));
    case 'string':
      switch (schema.format) {
        case 'date':
          return '2026-11-23';
        case 'date-time':
          return '2026-11-23T12:00:00Z';
        case 'email':
          return 'someone@example.com';
        case 'uri':
        case 'url':
          return 'https://example.com/';
        case 'uuid':
          return randomUUID();
        default:
          return 'x'.repeat(Math.max(1, Number(schema.minLength ?? 1)));
      }
    case 'integer':
    case 'number':
      return Math.max(1, Number(schema.minimum ?? 1));
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return undefined;
  }
}

function creditorOperations(doc: JsonSchema): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, JsonSchema>>)) {
    if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/admin/') || path === '/api/v1/auth/token') continue;
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const content = ((op.requestBody as JsonSchema | undefined)?.content ?? {}) as Record<string, { schema?: JsonSchema }>;
      out.push({
        method: method as Method,
        path,
        key: `${method.toUpperCase()} ${path}`,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
        bodySchema: content['application/json']?.schema,
        bodyTypes: Object.keys(content),
      });
    }
  }
  return out;
}

/** The collection a path parameter indexes: the segment before it (`/debts/{external_id}` → debts). */
function collectionOf(path: string, param: string): string {
  const segments = path.split('/');
  const at = segments.indexOf(`{${param}}`);
  return segments[at - 1] ?? '';
}

function urlFor(op: Operation, ids: (collection: string, param: string) => string, query?: Record<string, string>): string {
  let url = op.path;
  for (const param of op.pathParams) url = url.replace(`{${param}}`, encodeURIComponent(ids(collectionOf(op.path, param), param)));
  const qs = query ? new URLSearchParams(query).toString() : '';
  return qs ? `${url}?${qs}` : url;
}

function inputFor(op: Operation, doc: JsonSchema, owner: Owned, caller: SeededCreditor): Input {
  const known = table(owner, caller)[op.key];
  if (known) return known;
  if (op.bodySchema) return { body: sample(doc, op.bodySchema) ?? {} };
  return {};
}

async function call(op: Operation, url: string, authorization: string | undefined, input: Input): Promise<Response> {
  const req = t.request[op.method](url);
  if (authorization !== undefined) req.set('Authorization', authorization);
  if (input.body === undefined) return req;
  if (typeof input.body === 'string') return req.set('content-type', input.contentType ?? 'application/json').send(input.body);
  return req.send(input.body as object);
}

function isProblem(res: Response, status: number): boolean {
  return res.status === status && /^application\/problem\+json/.test(String(res.headers['content-type'])) && res.body?.status === status;
}

function leaked(res: Response, markers: string[]): string[] {
  const text = `${res.text ?? ''}${JSON.stringify(res.headers)}`;
  return markers.filter((m) => text.includes(m));
}

async function snapshotOf(creditorId: string): Promise<string> {
  const tables = ['creditors', 'creditor_credentials', 'debts', 'imports', 'import_errors', 'debtor_links', 'agreements', 'parcels', 'policy_versions', 'webhook_endpoints', 'webhook_events', 'webhook_deliveries'];
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const column = table === 'creditors' ? 'id' : 'creditor_id';
    const rows = await rowsOf<Record<string, unknown>>(t, sql`SELECT * FROM ${sql.identifier(table)} WHERE ${sql.identifier(column)} = ${creditorId}`);
    out[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return JSON.stringify(out);
}

beforeAll(async () => {
  t = await buildTestApp();
  // A: a debtor with an agreement made through the real portal (and so a link and events).
  const seeded = await seedAgreement(t, 3, [{ externalId: A_DEBT, description: 'Mensalidade sigilosa' }, {}], { name: A_NAME });
  const creditor = seeded.p.creditor;
  const csv = await importCsv(t, creditor.auth, `external_id;cpf;nome;valor;vencimento\nALFA-CSV-1;${seeded.p.cpf};Ana Sigilosa;10,00;01/10/2026\nALFA-CSV-2;111.111.111-11;Ruim;1,00;01/10/2026\n`);
  expect(csv).toMatchObject({ status: 'completed', rows_imported: 1, rows_rejected: 1 });
  const endpoint = await t.request.post('/api/v1/webhook-endpoints').set(creditor.auth).send({ url: A_HOOK });
  expect(endpoint.status).toBe(201);
  const events = await t.request.get('/api/v1/events').set(creditor.auth);
  expect(events.body.data.length).toBeGreaterThan(0);
  const credential = await t.request.post('/api/v1/credentials').set(creditor.auth);
  expect(credential.status).toBe(201);
  const agreement = await t.request.get(`/api/v1/agreements/${seeded.id}`).set(creditor.auth);
  expect(agreement.body.status).toBe('pending');

  const objects: Record<string, string> = {
    imports: csv.id,
    debts: A_DEBT,
    links: seeded.p.link.id,
    agreements: seeded.id,
    'webhook-endpoints': endpoint.body.id as string,
    events: events.body.data[0].id as string,
    credentials: credential.body.client_id as string,
  };
  a = {
    creditor,
    cpf: seeded.p.cpf,
    objects,
    markers: [A_NAME, A_HOOK, A_DEBT, 'ALFA-CSV-1', 'Sigilosa', 'sigilosa', seeded.p.cpf, creditor.creditorId, creditor.clientId, endpoint.body.secret as string, ...Object.values(objects)],
  };
  b = await seedCreditor(t);
  callerDocument = (await t.request.get('/api/v1/profile').set(b.auth)).body.document as string;
  const doc = await t.request.get('/docs/json');
  expect(doc.status).toBe(200);
  openapi = doc.body as JsonSchema;
  operations = creditorOperations(openapi).filter((op) => !(op.key in EXCEPTIONS));
  snapshotBefore = await snapshotOf(creditor.creditorId);
});
afterAll(async () => t?.close());

describe('every creditor route, from /docs/json', () => {
  it('the document lists the creditor API (the list below is not empty by accident)', () => {
    const keys = operations.map((op) => op.key);
    expect(keys.length).toBeGreaterThanOrEqual(30);
    for (const known of ['GET /api/v1/profile', 'PUT /api/v1/debts', 'GET /api/v1/imports/{id}/errors.csv', 'POST /api/v1/agreements/{id}/cancel', 'DELETE /api/v1/links/{id}', 'POST /api/v1/events/{id}/redeliver', 'DELETE /api/v1/credentials/{client_id}']) {
      expect(keys).toContain(known);
    }
    // Today every path parameter names a collection A owns an object in; a later one without
    // gets a random id in (b) (404 or 422), until an object of A is added in beforeAll.
    const known = operations.flatMap((op) => op.pathParams.map((p) => collectionOf(op.path, p))).filter((c) => c in a.objects);
    expect(new Set(known).size).toBeGreaterThanOrEqual(7);
    for (const reason of Object.values(EXCEPTIONS)) expect(reason.length).toBeGreaterThan(10);
  });

  it('(a) answers 401 problem+json without a valid token, whatever the input', async () => {
    const expiredOrForged = [
      undefined,
      'Bearer',
      'Bearer not-a-token',
      `Basic ${Buffer.from(`${a.creditor.clientId}:${a.creditor.clientSecret}`).toString('base64')}`,
      `Bearer ${a.creditor.clientSecret}`,
      // A's token with its signature cut: a well-formed JWT that does not verify.
      `Bearer ${a.creditor.token.slice(0, a.creditor.token.lastIndexOf('.'))}.AAAA`,
    ];
    const failures: string[] = [];
    for (const op of operations) {
      const valid = inputFor(op, openapi, a, a.creditor);
      const url = urlFor(op, (collection) => a.objects[collection] ?? randomUUID(), valid.query);
      for (const authorization of expiredOrForged) {
        const res = await call(op, url, authorization, valid);
        if (!isProblem(res, 401) || !/^Bearer/.test(String(res.headers['www-authenticate']))) failures.push(`${op.key} [${authorization ?? 'no Authorization'}] → ${res.status} ${res.text.slice(0, 120)}`);
        const seen = leaked(res, a.markers.filter((m) => !url.includes(encodeURIComponent(m))));
        if (seen.length > 0) failures.push(`${op.key} [${authorization ?? 'none'}] leaked ${seen.join(', ')}`);
      }
      // Invalid input must not be checked before the token: nothing about the schema leaks.
      const garbageUrl = urlFor(op, () => 'not an id at all', GARBAGE.query);
      for (const [what, target, input] of [
        ['invalid query and ids', garbageUrl, op.method === 'get' || op.method === 'delete' ? {} : GARBAGE],
        ['invalid body', url, op.method === 'get' ? {} : { body: GARBAGE.body }],
        ['malformed JSON', url, op.method === 'get' ? {} : { body: '{"broken":', contentType: 'application/json' }],
      ] as const) {
        const res = await call(op, target, undefined, input as Input);
        if (!isProblem(res, 401)) {
          failures.push(`${op.key} [no token, ${what}] → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it("(b) creditor B gets 404 for each of A's objects, exactly as for a missing one, never A's data", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const op of operations.filter((o) => o.pathParams.length > 0)) {
      const input = inputFor(op, openapi, a, b);
      const ownedByA = op.pathParams.every((p) => collectionOf(op.path, p) in a.objects);
      const theirs = await call(op, urlFor(op, (collection) => a.objects[collection] ?? randomUUID(), input.query), b.auth.Authorization, input);
      checked += ownedByA ? 1 : 0;
      if (!isProblem(theirs, 404) && (ownedByA || !isProblem(theirs, 422))) failures.push(`${op.key} with A's ids → ${theirs.status} ${theirs.text.slice(0, 160)}`);
      const seen = leaked(theirs, a.markers);
      if (seen.length > 0) failures.push(`${op.key} with A's ids leaked ${seen.join(', ')}`);
      // The answer for an id that exists nowhere: the same, so B cannot tell A's ids from none.
      const missing = await call(op, urlFor(op, () => randomUUID(), input.query), b.auth.Authorization, input);
      if (missing.status !== 404 && missing.status !== 422) failures.push(`${op.key} with random ids → ${missing.status} ${missing.text.slice(0, 160)}`);
      else if (ownedByA && missing.status === 404 && JSON.stringify(missing.body) !== JSON.stringify(theirs.body)) {
        failures.push(`${op.key}: A's id answers ${JSON.stringify(theirs.body)}, a missing one ${JSON.stringify(missing.body)}`);
      }
      // A made-up id that is not even of the right shape.
      const odd = await call(op, urlFor(op, () => 'no-such-thing', input.query), b.auth.Authorization, input);
      if (odd.status !== 404 && odd.status !== 422) failures.push(`${op.key} with a malformed id → ${odd.status} ${odd.text.slice(0, 160)}`);
    }
    expect(checked).toBeGreaterThanOrEqual(14);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it("B's routes without ids (lists, creations, its profile and policy) show nothing of A", async () => {
    const failures: string[] = [];
    for (const op of operations.filter((o) => o.pathParams.length === 0)) {
      const input = inputFor(op, openapi, a, b);
      const res = await call(op, urlFor(op, () => '', input.query), b.auth.Authorization, input);
      if (res.status >= 500 || res.status === 403 || res.status === 401) failures.push(`${op.key} → ${res.status} ${res.text.slice(0, 160)}`);
      else if (res.status >= 400 && res.status !== 404) failures.push(`${op.key} → ${res.status}: the table's input is not valid any more ${res.text.slice(0, 160)}`);
      const seen = leaked(res, a.markers);
      if (seen.length > 0) failures.push(`${op.key} leaked ${seen.join(', ')}`);
    }
    // A link for A's debtor is refused to B (404: B has no debt for that CPF).
    expect((await t.request.post('/api/v1/links').set(b.auth).send({ cpf: a.cpf })).status).toBe(404);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it("A's data is unchanged by everything above, and A's tokens still work", async () => {
    expect(await snapshotOf(a.creditor.creditorId)).toBe(snapshotBefore);
    expect((await t.request.get(`/api/v1/debts/${A_DEBT}`).set(a.creditor.auth)).status).toBe(200);
    expect((await t.request.get(`/api/v1/webhook-endpoints/${a.objects['webhook-endpoints']}`).set(a.creditor.auth)).body.status).toBe('enabled');
  });
});
