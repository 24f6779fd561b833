// GET/POST /a/{token}: the only pages that see a link token. Before the CPF is confirmed
// nothing about any debt or creditor is shown, and every failure (wrong CPF; unknown,
// expired, revoked or locked link) answers the same page.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../lib/errors.js';
import { createAccessService } from './access.service.js';
import { seeOther } from './portal.plugin.js';

const ACCESS_TITLE = 'Quita — acesso';
export const ACCESS_FAILED_MESSAGE =
  'Não foi possível confirmar o acesso. Confira o CPF digitado e use o link mais recente que você recebeu. Depois de 5 tentativas sem sucesso, o acesso fica bloqueado por 15 minutos.';

/** Rate limit by client address (CONTRACT §6.1): 60 a minute, a page saying when to retry. */
const rateLimit = {
  max: 60,
  timeWindow: '1 minute',
  errorResponseBuilder: (_request: unknown, context: { ttl: number }) => errors.tooManyRequests(Math.max(1, Math.ceil(context.ttl / 1000))),
};

export async function accessPages(app: FastifyInstance): Promise<void> {
  const { database, clock } = app.deps;
  const access = createAccessService({ db: database.db });

  // The form posts to this same address (no action attribute), so the page never repeats
  // the token and every failure page is byte-for-byte the same.
  const form = (reply: FastifyReply, csrfToken: string, error?: string) =>
    reply.renderPage('portal/access', { fullTitle: ACCESS_TITLE, csrfToken, error });

  app.get<{ Params: { token: string } }>('/a/:token', { config: { rateLimit } }, async (_request, reply) => form(reply, reply.generateCsrf()));

  app.post<{ Params: { token: string }; Body: Record<string, unknown> | undefined }>(
    '/a/:token',
    { config: { rateLimit }, preHandler: [app.csrfProtection] },
    async (request, reply) => {
      const cpf = typeof request.body?.cpf === 'string' ? request.body.cpf.slice(0, 40) : '';
      const result = await access.open(request.params.token, cpf, clock.now());
      if (!result.ok) {
        const submitted = request.body?._csrf;
        return form(reply.code(401), typeof submitted === 'string' ? submitted : reply.generateCsrf(), ACCESS_FAILED_MESSAGE);
      }
      app.setPortalSessionCookie(reply, result.cookieValue);
      return seeOther(reply, '/dividas');
    },
  );
}
