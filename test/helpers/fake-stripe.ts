// A small Stripe-compatible API on 127.0.0.1 that the real `stripe` SDK talks to (through
// STRIPE_API_BASE): PaymentIntents created, retrieved and confirmed with Pix or boleto,
// idempotency keys honoured as Stripe does (same key → the first answer again), every
// request recorded with its headers and form body. It also builds PaymentIntent events and
// signs them with the SDK's own generateTestHeaderString.
import Fastify, { type FastifyInstance } from 'fastify';
import Stripe from 'stripe';

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  body: Record<string, unknown>;
  raw: string;
}

export type FakeIntent = Record<string, unknown> & { id: string; amount: number; currency: string; status: string; metadata: Record<string, string> };

/** Stripe's form encoding (`a[b][0]=x`) back into objects and arrays. */
export function parseStripeForm(raw: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const parts = key.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!);
      const slot = (node as Record<string, unknown>)[part];
      if (last) (node as Record<string, unknown>)[part] = value;
      else node = (slot ?? ((node as Record<string, unknown>)[part] = nextIsIndex ? [] : {})) as Record<string, unknown>;
    });
  }
  return root;
}

export interface FakeStripe {
  url: string;
  requests: RecordedRequest[];
  intents: Map<string, FakeIntent>;
  /** The next `n` requests are processed, then their connection is cut before the answer (a lost response). */
  dropResponses(n: number): void;
  /** The next `n` requests answer 500 without doing anything. */
  failRequests(n: number): void;
  creates(): RecordedRequest[];
  confirms(): RecordedRequest[];
  /** Moves an intent (as Stripe would when the customer pays) and returns it. */
  update(id: string, patch: Partial<FakeIntent>): FakeIntent;
  /** A PaymentIntent event as Stripe sends it. */
  event(type: string, intent: FakeIntent, opts?: { id?: string; created?: number }): string;
  /** The Stripe-Signature header for a payload. */
  sign(payload: string, opts?: { secret?: string; timestamp?: number }): string;
  close(): Promise<void>;
}

let sequence = 0;
const nextId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(++sequence).toString(36).padStart(6, '0')}`;

export const PIX_DATA = '00020101021226880014br.gov.bcb.pix2566qr-h.sandbox.pix.bcb.gov.br/rest/api/v2/cobv/fake5204000053039865802BR5913STRIPE FAKE6009SAO PAULO62070503***6304ABCD';

/** `now`: the clock Stripe's expiry times are counted from (the test app's moved clock). */
export async function startFakeStripe(opts: { webhookSecret: string; now?: () => number }): Promise<FakeStripe> {
  const nowSeconds = () => Math.floor((opts.now ?? Date.now)() / 1000);
  const requests: RecordedRequest[] = [];
  const intents = new Map<string, FakeIntent>();
  const replies = new Map<string, { body: string; status: number; raw: string }>();
  const signer = new Stripe('sk_test_fake_signer');
  let drop = 0;
  let fail = 0;

  const server: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  function error(status: number, message: string, param?: string) {
    return { status, body: { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } } };
  }

  function create(body: Record<string, unknown>) {
    const amount = Number(body.amount);
    if (!Number.isInteger(amount) || amount <= 0) return error(400, 'Invalid integer', 'amount');
    if (body.currency !== 'brl') return error(400, 'Invalid currency', 'currency');
    const id = nextId('pi');
    const intent: FakeIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency: 'brl',
      status: 'requires_payment_method',
      client_secret: `${id}_secret_${Math.random().toString(36).slice(2, 12)}`,
      allowed_payment_method_types: body.allowed_payment_method_types,
      payment_method_types: body.allowed_payment_method_types,
      description: body.description ?? null,
      metadata: (body.metadata as Record<string, string>) ?? {},
      next_action: null,
      last_payment_error: null,
      payment_method: null,
      created: nowSeconds(),
      livemode: false,
    };
    intents.set(id, intent);
    return { status: 200, body: intent };
  }

  function confirm(id: string, body: Record<string, unknown>) {
    const intent = intents.get(id);
    if (!intent) return error(404, `No such payment_intent: '${id}'`, 'intent');
    if (intent.status === 'succeeded' || intent.status === 'processing') return error(400, 'This PaymentIntent cannot be confirmed in its state.');
    const data = (body.payment_method_data ?? {}) as Record<string, unknown>;
    const allowed = intent.allowed_payment_method_types as string[];
    if (!allowed.includes(String(data.type))) return error(400, `payment_method_data[type] ${String(data.type)} is not allowed`, 'payment_method_data[type]');
    const expires = nowSeconds() + 3600;
    if (data.type === 'pix') {
      intent.status = 'requires_action';
      intent.next_action = {
        type: 'pix_display_qr_code',
        pix_display_qr_code: { data: PIX_DATA, expires_at: expires, hosted_instructions_url: 'https://payments.stripe.com/pix/instructions/fake', image_url_png: 'https://qr.stripe.com/fake.png', image_url_svg: 'https://qr.stripe.com/fake.svg' },
      };
    } else if (data.type === 'boleto') {
      const boleto = (data.boleto ?? {}) as Record<string, unknown>;
      const billing = (data.billing_details ?? {}) as Record<string, unknown>;
      const address = (billing.address ?? {}) as Record<string, unknown>;
      if (!/^\d{11}$|^\d{14}$/.test(String(boleto.tax_id ?? ''))) return error(400, 'Invalid tax_id', 'payment_method_data[boleto][tax_id]');
      for (const f of ['line1', 'city', 'state', 'postal_code', 'country']) {
        if (!address[f]) return error(400, `Missing ${f}`, `payment_method_data[billing_details][address][${f}]`);
      }
      if (!billing.name || !billing.email) return error(400, 'Missing name or email', 'payment_method_data[billing_details]');
      intent.status = 'requires_action';
      intent.next_action = {
        type: 'boleto_display_details',
        boleto_display_details: { number: '01010101010101010101010101010101010101010101010', hosted_voucher_url: 'https://payments.stripe.com/boleto/voucher/fake', pdf: 'https://payments.stripe.com/boleto/voucher/fake/pdf', expires_at: expires + 3 * 86400 },
      };
    } else {
      return error(400, 'Only pix and boleto are confirmed server-side here.');
    }
    intent.payment_method = nextId('pm');
    return { status: 200, body: intent };
  }

  server.route({
    method: ['GET', 'POST'],
    url: '/v1/*',
    handler: async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const path = request.url.split('?')[0]!;
      const recorded: RecordedRequest = {
        method: request.method,
        path,
        idempotencyKey: request.headers['idempotency-key'] as string | undefined,
        authorization: request.headers.authorization,
        body: parseStripeForm(raw),
        raw,
      };
      requests.push(recorded);
      if (fail > 0) {
        fail -= 1;
        return reply.code(500).send({ error: { type: 'api_error', message: 'fake outage' } });
      }
      const key = request.method === 'POST' ? recorded.idempotencyKey : undefined;
      const cached = key ? replies.get(`${path} ${key}`) : undefined;
      let answer: { status: number; body: unknown };
      if (cached) {
        if (cached.raw !== raw) answer = error(400, 'Keys for idempotent requests can only be used with the same parameters they were first used with.');
        else return reply.code(cached.status).header('idempotent-replayed', 'true').type('application/json').send(cached.body);
      } else {
        const pi = /^\/v1\/payment_intents(?:\/([^/]+))?(\/confirm)?$/.exec(path);
        if (!pi) answer = error(404, `Unrecognized request URL (${request.method}: ${path})`);
        else if (request.method === 'POST' && !pi[1]) answer = create(recorded.body);
        else if (request.method === 'POST' && pi[2]) answer = confirm(pi[1]!, recorded.body);
        else if (request.method === 'GET' && pi[1] && !pi[2]) answer = intents.has(pi[1]) ? { status: 200, body: intents.get(pi[1]) } : error(404, `No such payment_intent: '${pi[1]}'`);
        else answer = error(404, 'Unrecognized request');
      }
      const text = JSON.stringify(answer.body);
      if (key && answer.status < 500) replies.set(`${path} ${key}`, { body: text, status: answer.status, raw });
      if (drop > 0) {
        drop -= 1;
        request.raw.socket.destroy();
        return reply.hijack();
      }
      return reply.code(answer.status).header('request-id', nextId('req')).type('application/json').send(text);
    },
  });

  await server.listen({ host: '127.0.0.1', port: 0 });
  const port = (server.server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    intents,
    dropResponses(n) {
      drop = n;
    },
    failRequests(n) {
      fail = n;
    },
    creates: () => requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents'),
    confirms: () => requests.filter((r) => r.method === 'POST' && r.path.endsWith('/confirm')),
    update(id, patch) {
      const intent = intents.get(id);
      if (!intent) throw new Error(`no intent ${id}`);
      Object.assign(intent, patch);
      return structuredClone(intent);
    },
    event(type, intent, o = {}) {
      return JSON.stringify({
        id: o.id ?? nextId('evt'),
        object: 'event',
        api_version: '2026-10-28.endive',
        created: o.created ?? Math.floor(Date.now() / 1000),
        type,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object: intent },
      });
    },
    sign(payload, o = {}) {
      return signer.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? opts.webhookSecret, ...(o.timestamp ? { timestamp: o.timestamp } : {}) });
    },
    close: () => server.close(),
  };
}
