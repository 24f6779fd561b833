import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { seedCreditor } from '../helpers/seed.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

describe('smoke', () => {
  it('is healthy and ready', async () => {
    expect((await t.request.get('/healthz')).status).toBe(200);
    const ready = await t.request.get('/readyz');
    expect(ready.status).toBe(200);
  });
  it('creates a creditor and reads its profile', async () => {
    const c = await seedCreditor(t);
    const res = await t.request.get('/api/v1/profile').set(c.auth);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(c.creditorId);
  });
});
