import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CSS } from './view.js';

/** The one stylesheet, served from memory with an ETag. */
async function staticPlugin(app: FastifyInstance): Promise<void> {
  const etag = `"${createHash('sha256').update(CSS).digest('base64url').slice(0, 16)}"`;
  app.get('/static/quita.css', { schema: { hide: true } }, async (request, reply) => {
    reply.header('cache-control', 'public, max-age=86400').header('etag', etag).type('text/css; charset=utf-8');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return CSS;
  });
}

export default fp(staticPlugin, { name: 'static' });
