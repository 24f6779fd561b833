import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { newId, randomToken, safeEqual, sha256 } from '../../lib/ids.js';
import { decodeCursor, page } from '../../lib/pagination.js';
import { createCreditorRepository, type CreditorRow } from './creditors.repository.js';
import type { CreateCreditorInput, ProfileInput } from './creditors.schemas.js';

export function toProfile(row: CreditorRow) {
  return {
    id: row.id,
    name: row.name,
    document: row.document,
    address: { street: row.street, city: row.city, state: row.state, postal_code: row.postalCode },
    email: row.email,
    phone: row.phone,
    pix_key: row.pixKey,
    financial_institution: row.financialInstitution,
  };
}

function profileColumns(input: ProfileInput) {
  return {
    name: input.name,
    document: input.document,
    street: input.address.street,
    city: input.address.city,
    state: input.address.state,
    postalCode: input.address.postal_code,
    email: input.email,
    phone: input.phone ?? null,
    pixKey: input.pix_key ?? null,
  };
}

function newCredential() {
  const clientId = randomToken('qc_', 16);
  const clientSecret = randomToken('qs_', 32);
  return { clientId, clientSecret, secretHash: sha256(clientSecret) };
}

export function createCreditorService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async create(input: CreateCreditorInput) {
      return db.transaction(async (tx) => {
        const repo = createCreditorRepository(tx);
        const now = clock.now();
        const created = await repo.insert({ id: newId(), ...profileColumns(input), financialInstitution: input.financial_institution, createdAt: now, updatedAt: now });
        if (!created) throw errors.conflict('A creditor with this document already exists.', 'creditor_exists');
        const credential = newCredential();
        await repo.insertCredential({ clientId: credential.clientId, creditorId: created.id, secretHash: credential.secretHash, createdAt: now });
        return { creditor_id: created.id, client_id: credential.clientId, client_secret: credential.clientSecret };
      });
    },

    async getProfile(creditorId: string) {
      const row = await createCreditorRepository(db).findById(creditorId);
      if (!row) throw errors.notFound('Creditor');
      return toProfile(row);
    },

    async updateProfile(creditorId: string, input: ProfileInput) {
      try {
        const row = await createCreditorRepository(db).update(creditorId, profileColumns(input));
        if (!row) throw errors.notFound('Creditor');
        return toProfile(row);
      } catch (err) {
        if ((err as { cause?: { code?: string } }).cause?.code === '23505' || (err as { code?: string }).code === '23505') {
          throw errors.conflict('Another creditor already uses this document.', 'creditor_exists');
        }
        throw err;
      }
    },

    /** The client_credentials grant: the creditor id behind a valid pair, or 401. */
    async verifyClient(clientId: string, clientSecret: string): Promise<string> {
      const credential = await createCreditorRepository(db).findLiveCredential(clientId);
      const expected = credential?.secretHash ?? sha256('no-such-credential');
      const matches = safeEqual(sha256(clientSecret), expected);
      if (!credential || !matches) throw errors.unauthorized('Unknown client_id or wrong client_secret.');
      return credential.creditorId;
    },

    async addCredential(creditorId: string) {
      const credential = newCredential();
      await createCreditorRepository(db).insertCredential({ clientId: credential.clientId, creditorId, secretHash: credential.secretHash, createdAt: clock.now() });
      return { client_id: credential.clientId, client_secret: credential.clientSecret };
    },

    async listCredentials(creditorId: string, query: { limit: number; cursor?: string }) {
      const rows = await createCreditorRepository(db).listCredentials(creditorId, query.limit, decodeCursor(query.cursor));
      return page(
        rows.map((r) => ({ ...r, id: r.clientId })),
        query.limit,
        (r) => ({ client_id: r.clientId, created_at: r.createdAt.toISOString(), revoked_at: r.revokedAt?.toISOString() ?? null }),
      );
    },

    async revokeCredential(creditorId: string, clientId: string): Promise<void> {
      await db.transaction(async (tx) => {
        const repo = createCreditorRepository(tx);
        const live = await repo.lockLiveCredentials(creditorId);
        if (!live.some((c) => c.clientId === clientId)) throw errors.notFound('Credential');
        if (live.length === 1) throw errors.conflict('The last credential cannot be revoked; create another first.', 'last_credential');
        await repo.revokeCredential(creditorId, clientId, clock.now());
      });
    },
  };
}

export type CreditorService = ReturnType<typeof createCreditorService>;
