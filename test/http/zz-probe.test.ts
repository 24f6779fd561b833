import { it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { seedCreditor } from '../helpers/seed.js';
it('probe', async () => {
  const t = await buildTestApp();
  const c = await seedCreditor(t);
  const out: string[] = [];
  for (const payload of [['2026-01-01T00:00:00Z', 'not-a-uuid'], [123, 'x'], ['2026-01-01T00:00:00Z', 5], {a: 1}]) {
    const cursor = Buffer.from(JSON.stringify(payload)).toString('base64url');
    for (const u of ['/api/v1/agreements', '/api/v1/imports', '/api/v1/webhook-endpoints', '/api/v1/events', '/api/v1/credentials']) {
      const r = await t.request.get(u).query({ cursor }).set(c.auth);
      out.push(`PROBE ${JSON.stringify(payload)} ${u} ${r.status} ${r.text.slice(0, 100)}`);
    }
  }
  console.log(out.join('\n'));
  await t.close();
});
