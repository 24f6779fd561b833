// Typed seeds through the real API: a creditor with a credential and an access token.
import { ADMIN_TOKEN, type TestApp } from './app.js';

export interface SeededCreditor {
  creditorId: string;
  clientId: string;
  clientSecret: string;
  token: string;
  auth: { Authorization: string };
}

let counter = 0;

/** A valid CNPJ built from a counter, so each creditor in a file has its own document. */
export function cnpjFor(n: number): string {
  const base = `1122233${String(n).padStart(5, '0')}`;
  const values = [...base].map(Number);
  for (const weights of [[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]]) {
    const sum = weights.reduce((acc, w, i) => acc + w * values[i]!, 0);
    const rest = sum % 11;
    values.push(rest < 2 ? 0 : 11 - rest);
  }
  return values.join('');
}

export function creditorBody(overrides: Record<string, unknown> = {}) {
  counter += 1;
  return {
    name: `Loja Exemplo ${counter}`,
    document: cnpjFor(counter + Math.floor(Math.random() * 90_000)),
    address: { street: 'Av. Paulista, 1000', city: 'São Paulo', state: 'SP', postal_code: '01310-100' },
    email: `financeiro${counter}@loja.example.com`,
    phone: '(11) 3333-4444',
    pix_key: 'financeiro@loja.example.com',
    ...overrides,
  };
}

export async function seedCreditor(t: TestApp, overrides: Record<string, unknown> = {}): Promise<SeededCreditor> {
  const created = await t.request.post('/api/v1/admin/creditors').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(creditorBody(overrides));
  if (created.status !== 201) throw new Error(`seedCreditor: ${created.status} ${JSON.stringify(created.body)}`);
  const { creditor_id, client_id, client_secret } = created.body as { creditor_id: string; client_id: string; client_secret: string };
  const token = await t.request.post('/api/v1/auth/token').send({ client_id, client_secret });
  if (token.status !== 200) throw new Error(`seedCreditor token: ${token.status}`);
  const accessToken = (token.body as { access_token: string }).access_token;
  return { creditorId: creditor_id, clientId: client_id, clientSecret: client_secret, token: accessToken, auth: { Authorization: `Bearer ${accessToken}` } };
}
