// Pages open to anyone: privacy (LGPD), and leaving.
import type { FastifyInstance } from 'fastify';
import { renderPortalPage, seeOther } from './portal.plugin.js';
import { SESSION_COOKIE, createSessionRepository, sessionIdFromCookie } from './session.js';
import { creditorView } from './view-models.js';

export async function infoPages(app: FastifyInstance): Promise<void> {
  const { database, clock, config } = app.deps;
  const sessions = createSessionRepository(database.db);

  app.get('/privacidade', async (request, reply) => {
    const s = await app.loadPortalSession(request, reply);
    return renderPortalPage(reply, 'portal/privacy', { title: 'Privacidade e seus dados', creditor: s ? creditorView(s.creditor) : undefined, dpoEmail: config.dpoEmail });
  });

  app.post('/sair', { preHandler: [app.csrfProtection] }, async (request, reply) => {
    const id = sessionIdFromCookie(request.cookies[SESSION_COOKIE]);
    if (id) await sessions.end(id, clock.now());
    app.clearPortalSessionCookie(reply);
    return seeOther(reply, '/saiu');
  });

  app.get('/saiu', async (_request, reply) => reply.renderPage('portal/signed-out', { title: 'Você saiu' }));
}
