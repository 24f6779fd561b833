// Shared by the portal tests: a creditor with debts for one CPF, a link, and a logged-in agent.
import { eq, type SQL } from 'drizzle-orm';
import supertest from 'supertest';
import { expect } from 'vitest';
import { debts } from '../../src/db/schema/index.js';
import { addDays } from '../../src/lib/dates.js';
import { completeCpf } from '../../src/lib/documents.js';
import type { TestApp } from '../helpers/app.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';

export const TODAY = '2026-11-23';

let cpfCounter = 0;
/** A valid CPF, different on each call. */
export function newCpf(): string {
  cpfCounter += 1;
  return completeCpf(String(300_000_000 + cpfCounter * 7919 + Math.floor(Math.random() * 1000)).slice(0, 9));
}

export interface DebtSpec {
  externalId?: string;
  amountCents?: number;
  daysOverdue?: number;
  description?: string | null;
  name?: string;
  status?: 'open' | 'in_agreement' | 'settled' | 'withdrawn' | 'prescribed';
}

export async function insertDebts(t: TestApp, creditorId: string, cpf: string, specs: DebtSpec[]): Promise<{ id: number; externalId: string }[]> {
  const rows = specs.map((s, i) => ({
    creditorId,
    externalId: s.externalId ?? `EXT-${cpf.slice(0, 4)}-${Date.now().toString(36)}-${i}-${Math.random().toString(36).slice(2, 6)}`,
    cpf,
    name: s.name ?? 'Maria da Silva',
    amountCents: s.amountCents ?? 100_000,
    dueDate: addDays(TODAY, -(s.daysOverdue ?? 30)),
    description: s.description === undefined ? `Mensalidade ${i + 1}` : s.description,
    status: s.status ?? 'open',
  }));
  return t.database.db.insert(debts).values(rows).returning({ id: debts.id, externalId: debts.externalId });
}

export interface Portal {
  creditor: SeededCreditor;
  cpf: string;
  debts: { id: number; externalId: string }[];
  link: { id: string; url: string; token: string; expires_at: string };
}

export async function createLink(t: TestApp, creditor: SeededCreditor, cpf: string, body: Record<string, unknown> = {}) {
  const res = await t.request.post('/api/v1/links').set(creditor.auth).send({ cpf, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const url = res.body.url as string;
  return { ...(res.body as { id: string; url: string; expires_at: string }), token: url.slice(url.lastIndexOf('/a/') + 3) };
}

export async function seedPortal(t: TestApp, specs: DebtSpec[] = [{}, { daysOverdue: 120 }], creditorOverrides: Record<string, unknown> = {}): Promise<Portal> {
  const creditor = await seedCreditor(t, creditorOverrides);
  const cpf = newCpf();
  const rows = await insertDebts(t, creditor.creditorId, cpf, specs);
  const link = await createLink(t, creditor, cpf);
  return { creditor, cpf, debts: rows, link };
}

export function agent(t: TestApp) {
  return supertest.agent(t.app.server);
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in page');
  return m[1]!;
}

/** Opens the link with a CPF; returns the POST response. */
export async function openLink(a: supertest.Agent, token: string, cpf: string) {
  const page = await a.get(`/a/${token}`);
  expect(page.status).toBe(200);
  return a.post(`/a/${token}`).type('form').send({ _csrf: csrfOf(page.text), cpf });
}

export async function login(t: TestApp, p: Portal) {
  const a = agent(t);
  const res = await openLink(a, p.link.token, p.cpf);
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/dividas');
  return a;
}

/** The offers page for these debts; returns its HTML and the offer forms on it. */
export async function offersPage(a: supertest.Agent, debtIds: number[], firstDue?: string) {
  const q = debtIds.map((id) => `debts=${id}`).join('&') + (firstDue ? `&vencimento=${firstDue}` : '');
  const res = await a.get(`/ofertas?${q}`);
  return { res, offers: offerForms(res.text) };
}

export function offerForms(html: string): { title: string; id: string; hash: string; csrf: string }[] {
  const out: { title: string; id: string; hash: string; csrf: string }[] = [];
  const re = /<h2 id="oferta-\d+">([^<]+)<\/h2>[\s\S]*?name="_csrf" value="([^"]+)"[\s\S]*?name="oferta" value="([^"]+)"[\s\S]*?name="h" value="([^"]+)"/g;
  for (const m of html.matchAll(re)) out.push({ title: m[1]!, csrf: m[2]!, id: m[3]!, hash: m[4]! });
  return out;
}

/** Escolher → confirmation page → Confirmar acordo; returns the final response (303 to the agreement). */
export async function chooseAndConfirm(a: supertest.Agent, offer: { id: string; hash: string; csrf: string }) {
  const chosen = await a.post('/ofertas/escolher').type('form').send({ _csrf: offer.csrf, oferta: offer.id, h: offer.hash });
  expect(chosen.status).toBe(303);
  const confirm = await a.get(chosen.headers.location as string);
  expect(confirm.status).toBe(200);
  return a.post(`/ofertas/${offer.id}/confirmar`).type('form').send({ _csrf: csrfOf(confirm.text), h: offer.hash, aceite: 'sim' });
}

export async function debtStatus(t: TestApp, id: number): Promise<string> {
  const [row] = await t.database.db.select({ status: debts.status }).from(debts).where(eq(debts.id, id));
  return row!.status;
}

/** Rows of a raw query, on either driver. */
export async function rowsOf<T>(t: TestApp, query: SQL): Promise<T[]> {
  return ((await t.database.db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** Text of a page without tags, for assertions on what a reader sees. */
export function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&nbsp;|\u00a0/g, ' ').replace(/\s+/g, ' ');
}
