// The debtor portal's pages and the links API, registered in one place.
import type { FastifyInstance } from 'fastify';
import { accessPages } from './access.pages.js';
import { agreementPages } from './agreement.pages.js';
import { debtorPages } from './debtor.pages.js';
import { infoPages } from './info.pages.js';
import { linksApi } from './links.api.js';

export async function portalRoutes(app: FastifyInstance): Promise<void> {
  await app.register(linksApi);
  await app.register(accessPages);
  await app.register(debtorPages);
  await app.register(agreementPages);
  await app.register(infoPages);
}
