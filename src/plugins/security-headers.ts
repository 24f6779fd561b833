// Helmet's security headers (CSP, HSTS, Referrer-Policy, X-Content-Type-Options, …) on every
// answer, computed once. @fastify/helmet builds helmet's middleware again on every request,
// parsing the CSP each time, although with no nonces the headers never change: here they are
// worked out at startup by helmet itself, with the same options, and set as they are.
import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';

/** What helmet would set on any answer with these options (no CSP nonces). */
export async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(fastifyHelmet, options);
    probe.get('/', async () => '');
    const baseline = Fastify({ logger: false });
    baseline.get('/', async () => '');
    const [withHelmet, without] = await Promise.all([probe.inject('/'), baseline.inject('/')]);
    await baseline.close();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(withHelmet.headers)) {
      if (value === undefined || name in without.headers) continue; // content-type, date, …: not helmet's
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    return headers;
  } finally {
    await probe.close();
  }
}

async function securityHeadersPlugin(app: FastifyInstance, opts: { helmet: FastifyHelmetOptions }): Promise<void> {
  if ((opts.helmet as { enableCSPNonces?: boolean }).enableCSPNonces) throw new Error('security-headers: CSP nonces change per request; use @fastify/helmet');
  const headers = await helmetHeaders(opts.helmet);
  const entries = Object.entries(headers);
  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    for (const [name, value] of entries) reply.header(name, value);
    done();
  });
}

export default fp(securityHeadersPlugin, { name: 'security-headers' });
