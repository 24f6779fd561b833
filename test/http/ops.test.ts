// Operations: health, readiness, metrics, the OpenAPI document and its UI, and what the
// request logs hold (CONTRACT §1, §4, §9).
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { creditorBody, seedCreditor, type SeededCreditor } from '../helpers/seed.js';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let t: TestApp;
let c: SeededCreditor;
beforeAll(async () => {
  t = await buildTestApp();
  c = await seedCreditor(t);
});
afterAll(async () => t.close());

describe('health', () => {
  it('/healthz and /readyz answer 200', async () => {
    const health = await t.request.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await t.request.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: 'ok', migrations: 'applied' });
  });

  it('/readyz answers 503 when the database is gone, while /healthz still answers', async () => {
    const b = await buildTestApp();
    try {
      expect((await b.request.get('/readyz')).status).toBe(200);
      await b.database.close();
      const ready = await b.request.get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ database: 'unreachable' });
      expect((await b.request.get('/healthz')).status).toBe(200);
    } finally {
      await b.app.close();
    }
  });
});

describe('/metrics', () => {
  it('serves Prometheus text to loopback clients, with durations by route pattern', async () => {
    await t.request.get('/api/v1/profile').set(c.auth);
    await t.request.delete('/api/v1/credentials/qc_not-a-real-one').set(c.auth);
    await t.request.get('/api/v1/no-such-route');
    const res = await t.request.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(res.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/profile",status_code="200"\} [1-9]/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/v1\/profile",status_code="200"\}/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{method="DELETE",route="\/api\/v1\/credentials\/:client_id",status_code="404"\} 1/);
    expect(res.text).toMatch(/route="unmatched",status_code="404"/);
    // Patterns only: no raw path, id or value becomes a label.
    expect(res.text).not.toContain('qc_not-a-real-one');
    expect(res.text).not.toContain('no-such-route');
    expect(res.text).toContain('process_cpu_seconds_total');
  });

  it('answers 404 to a client that is not on loopback, whatever it claims', async () => {
    const far = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7' });
    expect(far.statusCode).toBe(404);
    const spoofed = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7', headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect(spoofed.statusCode).toBe(404);
    const near = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' });
    expect(near.statusCode).toBe(200);
  });

  it('with METRICS_TOKEN requires the bearer token, even from loopback', async () => {
    const m = await buildTestApp({ config: { metricsToken: 'metrics-token-0123456789' } });
    try {
      const none = await m.request.get('/metrics');
      expect(none.status).toBe(401);
      expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await m.request.get('/metrics').set('Authorization', 'Bearer wrong-token')).status).toBe(401);
      expect((await m.request.get('/metrics').set('Authorization', 'metrics-token-0123456789')).status).toBe(401);
      const ok = await m.request.get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789');
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('http_request_duration_seconds');
      const far = await m.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(far.statusCode).toBe(200);
    } finally {
      await m.close();
    }
  });
});

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: unknown }>;
  security?: Array<Record<string, unknown>>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  operationId?: string;
}

/** Routes (full path, methods) from Fastify's printed route tree. */
function routesOf(tree: string): Array<{ path: string; methods: string[] }> {
  const out: Array<{ path: string; methods: string[] }> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const path = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    if (m[3]) out.push({ path, methods: m[3].split(',').map((s) => s.trim()) });
  }
  return out;
}

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('OpenAPI', () => {
  const FOUNDATION: Array<[string, string]> = [
    ['/api/v1/admin/creditors', 'post'],
    ['/api/v1/admin/clock', 'post'],
    ['/api/v1/auth/token', 'post'],
    ['/api/v1/profile', 'get'],
    ['/api/v1/profile', 'put'],
    ['/api/v1/credentials', 'get'],
    ['/api/v1/credentials', 'post'],
    ['/api/v1/credentials/{client_id}', 'delete'],
  ];
  let doc: { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>>; components?: { securitySchemes?: Record<string, unknown> } };

  beforeAll(async () => {
    const res = await t.request.get('/docs/json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.body;
  });

  it('is an OpenAPI 3 document', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.info.version).toEqual(expect.any(String));
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual(['admin', 'bearer']);
  });

  it('lists the foundation routes', () => {
    for (const [path, method] of FOUNDATION) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it('lists every /api route the app serves, and nothing it does not', () => {
    const served = routesOf(t.app.printRoutes({ commonPrefix: false }))
      .filter((r) => r.path.startsWith('/api/'))
      .flatMap((r) => r.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    expect(served.length).toBeGreaterThanOrEqual(FOUNDATION.length);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    for (const route of served) expect(documented, route).toContain(route);
    for (const route of documented.filter((r) => r.includes(' /api/'))) expect(served, route).toContain(route);
  });

  it('every operation is well formed', () => {
    const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
    const schemes = new Set(Object.keys(doc.components?.securitySchemes ?? {}));
    const operationIds = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      expect(path, path).toMatch(/^\//);
      expect(path, 'path templates use {name}').not.toMatch(/\/:/);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        if (method === 'parameters') continue;
        expect(methods.has(method), where).toBe(true);
        const responses = Object.entries(op.responses ?? {});
        expect(responses.length, `${where} has responses`).toBeGreaterThan(0);
        for (const [code, response] of responses) {
          expect(code, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(typeof response.description, `${where} ${code} description`).toBe('string');
          for (const media of Object.values(response.content ?? {})) expect(typeof media.schema, `${where} ${code}`).toBe('object');
        }
        const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(pathParams.map((p) => p.name).sort(), `${where} path parameters`).toEqual([...templated].sort());
        for (const p of pathParams) expect(p.required, `${where} ${p.name}`).toBe(true);
        for (const p of op.parameters ?? []) expect(['path', 'query', 'header', 'cookie'], where).toContain(p.in);
        for (const requirement of op.security ?? []) for (const name of Object.keys(requirement)) expect(schemes.has(name), `${where} security ${name}`).toBe(true);
        for (const media of Object.values(op.requestBody?.content ?? {})) expect(typeof media.schema, where).toBe('object');
        if (op.operationId) {
          expect(operationIds.has(op.operationId), `${where} operationId`).toBe(false);
          operationIds.add(op.operationId);
        }
      }
    }
  });

  it('describes the foundation operations precisely', () => {
    const create = doc.paths['/api/v1/admin/creditors']!.post!;
    expect(create.security).toEqual([{ admin: [] }]);
    expect(Object.keys(create.responses!)).toContain('201');
    const body = create.requestBody!.content!['application/json']!.schema as { type: string; required: string[]; properties: Record<string, unknown>; additionalProperties?: unknown };
    expect(body.type).toBe('object');
    expect(body.required).toEqual(expect.arrayContaining(['name', 'document', 'address', 'email']));
    expect(body.required).not.toContain('financial_institution');
    expect(body.additionalProperties).toBe(false);
    const created = create.responses!['201']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
    expect(Object.keys(created.properties).sort()).toEqual(['client_id', 'client_secret', 'creditor_id']);
    expect(doc.paths['/api/v1/profile']!.get!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/auth/token']!.post!.security ?? []).toEqual([]);
    const list = doc.paths['/api/v1/credentials']!.get!;
    expect((list.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['cursor', 'limit']);
  });

  it('every $ref resolves', () => {
    for (const ref of refsIn(doc)) {
      expect(ref, ref).toMatch(/^#\//);
      let node: unknown = doc;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      expect(node, ref).toBeDefined();
    }
  });

  it('/docs serves the UI and its assets', async () => {
    const res = await t.request.get('/docs').redirects(2);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('swagger-ui');
    const assets = [...res.text.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const url = new URL(asset, 'http://x/docs/').pathname;
      expect((await t.request.get(url)).status, url).toBe(200);
    }
    const yaml = await t.request.get('/docs/yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toMatch(/^openapi: 3\./m);
  });
});

describe('request logs', () => {
  const CPF = '52998224725';
  const CPF_FORMATTED = '529.982.247-25';
  const COOKIE = 'quita_session=cookie-value-8f3a9c1d2e';

  it('keep method, route pattern, status and time, and never a CPF, a secret, a token or a cookie', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const l = await buildTestApp({ logger: { level: 'info', stream } });
    try {
      const person = await l.request.post('/api/v1/admin/creditors').set(admin).set('Cookie', COOKIE).send(creditorBody({ document: CPF_FORMATTED, name: 'Maria' }));
      expect(person.status).toBe(201);
      const { client_id: clientId, client_secret: clientSecret } = person.body as { client_id: string; client_secret: string };
      // The secret in a JSON body and in a form body.
      const token = await l.request.post('/api/v1/auth/token').send({ client_id: clientId, client_secret: clientSecret });
      expect(token.status).toBe(200);
      const form = await l.request.post('/api/v1/auth/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
      expect(form.status).toBe(200);
      const accessToken = token.body.access_token as string;
      const auth = { Authorization: `Bearer ${accessToken}` };
      // A CPF in a body that is refused, in a query, in a path; a wrong secret; a cookie everywhere.
      expect((await l.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: CPF_FORMATTED }))).status).toBe(409);
      expect((await l.request.post('/api/v1/admin/creditors').set(admin).send(creditorBody({ document: '529.982.247-24' }))).status).toBe(422);
      expect((await l.request.get(`/api/v1/profile?cpf=${CPF}&doc=${CPF_FORMATTED}`).set(auth).set('Cookie', COOKIE)).status).toBe(200);
      expect((await l.request.get(`/api/v1/credentials?cursor=${CPF}`).set(auth)).status).toBe(422);
      expect((await l.request.get(`/api/v1/debtors/${CPF}?cpf=${CPF}`).set(auth)).status).toBe(404);
      expect((await l.request.get(`/consulta/${CPF_FORMATTED}`).set('Cookie', COOKIE)).status).toBe(404);
      expect((await l.request.delete(`/api/v1/credentials/${CPF}`).set(auth)).status).toBe(404);
      expect((await l.request.post('/api/v1/auth/token').send({ client_id: clientId, client_secret: `${clientSecret}-wrong` })).status).toBe(401);
      expect((await l.request.get('/api/v1/profile').set('Authorization', `Bearer ${accessToken}x`)).status).toBe(401);
      expect((await l.request.get('/api/v1/profile').set('Authorization', `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`)).status).toBe(401);

      const text = chunks.join('');
      const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(0);
      for (const secret of [CPF, CPF_FORMATTED, '529.982.247-24', '52998224724', clientSecret, accessToken, accessToken.split('.')[2]!, 'cookie-value-8f3a9c1d2e', ADMIN_TOKEN, Buffer.from(`${clientId}:${clientSecret}`).toString('base64')]) {
        expect(text, `the logs hold ${secret.slice(0, 12)}…`).not.toContain(secret);
      }
      // No header, body or raw URL at all.
      expect(text).not.toMatch(/authorization|cookie|client_secret|"url"/i);

      const requests = lines.filter((l) => l.msg === 'request');
      expect(requests.length).toBe(13);
      for (const r of requests) {
        expect(r).toMatchObject({ method: expect.stringMatching(/^[A-Z]+$/), route: expect.stringMatching(/^\//), status: expect.any(Number) });
        expect(typeof r.ms).toBe('number');
        expect(r.ms as number).toBeGreaterThanOrEqual(0);
        expect(typeof r.reqId).toBe('string');
      }
      const routes = requests.map((r) => `${r.method} ${r.route} ${r.status}`);
      expect(routes).toContain('POST /api/v1/admin/creditors 201');
      expect(routes).toContain('POST /api/v1/auth/token 200');
      expect(routes).toContain('GET /api/v1/profile 200');
      expect(routes).toContain('DELETE /api/v1/credentials/:client_id 404');
      expect(routes).toContain('GET /api/v1/profile 401');
      expect(routes.some((r) => /^GET \/api\/v1\/debtors\/\S+ 404$/.test(r))).toBe(true);
    } finally {
      await l.close();
    }
  });
});
