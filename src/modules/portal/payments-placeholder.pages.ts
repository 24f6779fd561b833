// Until the payments pages land (CONTRACT §7): Pagar and Quitar antecipado lead here.
// The payments module replaces this file's routes; remove its registration in portal.routes.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadOwnAgreement } from './agreement.pages.js';
import { renderPortalPage } from './portal.plugin.js';
import { creditorView } from './view-models.js';

export async function paymentsPlaceholderPages(app: FastifyInstance): Promise<void> {
  const page = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const s = request.portalSession!;
    const found = await loadOwnAgreement(app, s, request.params.id);
    if (!found) return renderPortalPage(reply.code(404), 'error', { status: 404 });
    return renderPortalPage(reply, 'portal/payment-soon', { title: 'Pagamento', id: found.agreement.id, creditor: creditorView(s.creditor) });
  };
  app.get<{ Params: { id: string } }>('/acordos/:id/pagar', { preHandler: [app.requirePortalSession] }, page);
  app.get<{ Params: { id: string } }>('/acordos/:id/quitar', { preHandler: [app.requirePortalSession] }, page);
}
