// Creditor access tokens (HS256 JWTs, algorithm pinned, short-lived) and the admin bearer token.
import fastifyJwt from '@fastify/jwt';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { creditorCredentials } from '../db/schema/index.js';
import { errors } from '../lib/errors.js';
import { safeEqual, sha256 } from '../lib/ids.js';

export const ACCESS_TOKEN_TTL_SECONDS = 3600;
const AUDIENCE = 'quita:creditor-api';

interface CreditorClaims {
  sub: string;
  cid: string;
  typ: 'creditor';
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: CreditorClaims;
    user: CreditorClaims;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    creditorId: string;
  }
  interface FastifyInstance {
    authenticateCreditor(request: FastifyRequest): Promise<void>;
    authenticateAdmin(request: FastifyRequest): Promise<void>;
    signCreditorToken(creditorId: string, clientId: string): string;
  }
}

async function authPlugin(app: FastifyInstance): Promise<void> {
  const { config, database } = app.deps;
  await app.register(fastifyJwt, {
    secret: sha256(`creditor-api:${config.secretKey}`),
    sign: { algorithm: 'HS256', expiresIn: ACCESS_TOKEN_TTL_SECONDS, aud: AUDIENCE },
    // Without requiredClaims, fast-jwt skips the checks of absent claims: no exp, no expiry.
    verify: { algorithms: ['HS256'], allowedAud: AUDIENCE, requiredClaims: ['exp', 'aud', 'sub', 'cid'] },
  });
  app.decorateRequest('creditorId', '');
  // Prepared once (every API request runs it): parsed and planned once per connection.
  const liveCredential = database.db
    .select({ creditorId: creditorCredentials.creditorId })
    .from(creditorCredentials)
    .where(and(eq(creditorCredentials.clientId, sql.placeholder('clientId')), isNull(creditorCredentials.revokedAt)))
    .limit(1)
    .prepare('auth_live_credential');

  app.decorate('signCreditorToken', (creditorId: string, clientId: string) =>
    app.jwt.sign({ sub: creditorId, cid: clientId, typ: 'creditor' }),
  );

  app.decorate('authenticateCreditor', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header || !/^Bearer\s+\S+$/i.test(header)) throw errors.unauthorized('Missing bearer token.');
    let claims: CreditorClaims;
    try {
      claims = await request.jwtVerify<CreditorClaims>();
    } catch {
      throw errors.unauthorized('The access token is expired or invalid.');
    }
    if (claims.typ !== 'creditor' || typeof claims.sub !== 'string' || typeof claims.cid !== 'string') {
      throw errors.unauthorized('The access token is expired or invalid.');
    }
    // A revoked credential takes its tokens with it.
    const [live] = await liveCredential.execute({ clientId: claims.cid });
    if (!live || live.creditorId !== claims.sub) throw errors.unauthorized('The credential behind this token was revoked.');
    request.creditorId = claims.sub;
  });

  app.decorate('authenticateAdmin', async (request: FastifyRequest) => {
    // Without ADMIN_TOKEN the admin API does not exist.
    if (!config.adminToken) throw errors.notFound('Route');
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !safeEqual(sha256(match[1]!), sha256(config.adminToken))) throw errors.unauthorized('Invalid admin token.');
  });
}

export default fp(authPlugin, { name: 'auth', dependencies: ['deps'] });
