// What every debtor page needs, shared with the payments pages: cookies, CSRF
// (@fastify/csrf-protection, its secret in an HttpOnly cookie, checked as a preHandler) and
// the debtor session.
//
//   app.get('/acordos/:id/pagar', { preHandler: [app.requirePortalSession] }, async (request, reply) => {
//     const session = request.portalSession!;               // creditor, CPF, current policy
//     return renderPortalPage(reply, 'payments/pay', { … }); // adds Sair and a CSRF token
//   });
//   app.post('/…', { preHandler: [app.csrfProtection, app.requirePortalSession] }, …)
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sha256 } from '../../lib/ids.js';
import { createSessionRepository, SESSION_COOKIE, SESSION_IDLE_MS, SESSION_TOUCH_MS, sessionIdFromCookie, type PortalSession } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requirePortalSession / loadPortalSession. */
    portalSession: PortalSession | null;
  }
  interface FastifyInstance {
    /** preHandler: the debtor's session, or a "session ended" page (401). */
    requirePortalSession(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void>;
    /** The debtor's session when there is one (pages open to anyone, such as /privacidade). */
    loadPortalSession(request: FastifyRequest, reply: FastifyReply): Promise<PortalSession | null>;
    /**
     * Like loadPortalSession, with the session read by `fetch`: a page's own query that
     * returns the session with the page's data, in one statement (the debts page).
     */
    loadPortalSessionWith<T extends { session: PortalSession }>(request: FastifyRequest, reply: FastifyReply, fetch: (id: string, now: Date) => Promise<T | undefined>): Promise<T | null>;
    /** The "session ended" page (401), as requirePortalSession answers it. */
    portalSessionEnded(reply: FastifyReply): FastifyReply;
    /** Sets the session cookie (HttpOnly, SameSite=Lax, Secure in production, 30 idle minutes). */
    setPortalSessionCookie(reply: FastifyReply, cookieValue: string): void;
    clearPortalSessionCookie(reply: FastifyReply): void;
  }
}

/**
 * Renders a page with the logged-in chrome (Sair, with its CSRF token) when there is a
 * session. Like renderPage, it adds to `data` (a fresh object) rather than copying it.
 */
export function renderPortalPage(reply: FastifyReply, page: string, data: Record<string, unknown> = {}): FastifyReply {
  if (reply.request.portalSession) {
    data.session = true;
    data.csrfToken ??= reply.generateCsrf();
  }
  return reply.renderPage(page, data);
}

/** 303 See Other, with the headers every portal answer carries. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').send();
}

async function portalPlugin(app: FastifyInstance): Promise<void> {
  const { config, database, clock } = app.deps;
  const secure = config.isProduction;
  await app.register(fastifyCookie, { secret: sha256(`cookie:${config.secretKey}`) });
  await app.register(fastifyCsrfProtection, {
    cookieKey: '_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure },
    logLevel: 'info',
  });
  const sessions = createSessionRepository(database.db);
  app.decorateRequest('portalSession', null);

  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, maxAge: SESSION_IDLE_MS / 1000 };
  app.decorate('setPortalSessionCookie', (reply: FastifyReply, cookieValue: string) => {
    reply.setCookie(SESSION_COOKIE, cookieValue, cookieOptions);
  });
  app.decorate('clearPortalSessionCookie', (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure });
  });

  async function loadWith<T extends { session: PortalSession }>(request: FastifyRequest, reply: FastifyReply, fetch: (id: string, now: Date) => Promise<T | undefined>): Promise<T | null> {
    const cookieValue = request.cookies[SESSION_COOKIE];
    const id = sessionIdFromCookie(cookieValue);
    if (!id) return null;
    const now = clock.now();
    const found = await fetch(id, now);
    if (!found) {
      app.clearPortalSessionCookie(reply);
      return null;
    }
    // Sliding expiry, written at most once a minute so that reading stays cheap.
    if (now.getTime() - found.session.lastSeenAt.getTime() >= SESSION_TOUCH_MS) {
      await sessions.touch(id, now);
      app.setPortalSessionCookie(reply, cookieValue!);
    }
    request.portalSession = found.session;
    return found;
  }

  const fetchSession = async (id: string, now: Date) => {
    const session = await sessions.load(id, now);
    return session && { session };
  };
  async function load(request: FastifyRequest, reply: FastifyReply): Promise<PortalSession | null> {
    if (request.portalSession) return request.portalSession;
    return (await loadWith(request, reply, fetchSession))?.session ?? null;
  }

  const ended = (reply: FastifyReply) => reply.code(401).renderPage('portal/session-ended', { title: 'Sessão encerrada' });
  app.decorate('loadPortalSession', load);
  app.decorate('loadPortalSessionWith', loadWith);
  app.decorate('portalSessionEnded', ended);
  app.decorate('requirePortalSession', async (request: FastifyRequest, reply: FastifyReply) => {
    if (await load(request, reply)) return;
    return ended(reply);
  });
}

export default fp(portalPlugin, { name: 'portal-session', dependencies: ['deps', 'view'] });
