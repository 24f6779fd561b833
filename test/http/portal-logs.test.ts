// Request logs never hold a link token or a whole CPF (CONTRACT §9).
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { agent, chooseAndConfirm, csrfOf, login, offersPage, seedPortal } from './portal-helpers.js';

let t: TestApp;
const lines: string[] = [];
beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  t = await buildTestApp({ logger: { level: 'info', stream } });
});
afterAll(async () => t.close());

describe('logs', () => {
  it('hold neither the link token nor the whole CPF, through a whole visit', async () => {
    const p = await seedPortal(t, [{}, {}]);
    // wrong CPFs, a CSRF failure, an unknown token, then the whole way to an agreement
    const b = agent(t);
    const csrf = csrfOf((await b.get(`/a/${p.link.token}`)).text);
    await b.post(`/a/${p.link.token}`).type('form').send({ _csrf: csrf, cpf: '111.444.777-35' });
    await b.post(`/a/${p.link.token}`).type('form').send({ cpf: p.cpf });
    await b.post(`/a/${p.link.token}zz`).type('form').send({ _csrf: csrf, cpf: p.cpf });
    await t.request.post('/api/v1/links').set(p.creditor.auth).send({ cpf: p.cpf });
    await t.request.post('/api/v1/links').set(p.creditor.auth).send({ cpf: `${p.cpf.slice(0, 10)}0` });
    const a = await login(t, p);
    const { offers } = await offersPage(a, p.debts.map((d) => d.id));
    const done = await chooseAndConfirm(a, offers[1]!);
    await a.get(done.headers.location as string);
    await a.get(`/a/${p.link.token}?cpf=${p.cpf}`);

    const log = lines.join('');
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(10);
    expect(log).toContain('"route":"/a/:token"');
    expect(log).not.toContain(p.link.token);
    expect(log).not.toContain(p.cpf);
    expect(log).not.toContain(`${p.cpf.slice(0, 3)}.${p.cpf.slice(3, 6)}.${p.cpf.slice(6, 9)}-${p.cpf.slice(9)}`);
    expect(log).not.toMatch(/quita_sessao=|_csrf=/);
  });
});
