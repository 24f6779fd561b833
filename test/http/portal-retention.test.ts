// The privacy page's promises about offers and sessions, kept by the retention job.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalRetentionJob } from '../../src/jobs/portal-retention.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { login, seedAgreement } from '../helpers/portal.js';
import { rowsOf } from './portal-helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const run = () => portalRetentionJob.run({ database: t.database, clock: t.clock, config: t.config, log: t.app.log });
const count = async (table: 'offers' | 'portal_sessions') => (await rowsOf<{ n: number }>(t, sql.raw(`SELECT count(*)::int AS n FROM ${table}`)))[0]!.n;

describe('portal retention', () => {
  it('drops offers 90 days after they expire unless they became an agreement, then the ended sessions', async () => {
    const { id, p } = await seedAgreement(t, 3);
    const offersShown = await count('offers');
    expect(offersShown).toBeGreaterThan(1);
    await login(t, p); // a second visit that looked at no offer
    expect(await count('portal_sessions')).toBe(2);

    // 89 days after expiry (48 h validity): no offer goes yet; the idle session does.
    const [{ expires } = { expires: '' }] = await rowsOf<{ expires: string }>(t, sql`SELECT max(expires_at)::text AS expires FROM offers`);
    const expiry = new Date(expires).getTime();
    t.clock.set(new Date(expiry + 89 * 86_400_000));
    expect(await run()).toBe(1);
    expect(await count('offers')).toBe(offersShown);
    expect(await count('portal_sessions')).toBe(1); // the idle visit's session, ended long ago

    t.clock.set(new Date(expiry + 91 * 86_400_000));
    await run();
    // The one offer that became the agreement stays, so the session it was shown in stays too.
    const left = await rowsOf<{ id: string }>(t, sql`SELECT id FROM offers`);
    const [agreement] = await rowsOf<{ offer_id: string }>(t, sql`SELECT offer_id FROM agreements WHERE id = ${id}`);
    expect(left.map((o) => o.id)).toEqual([agreement!.offer_id]);
    expect(await count('portal_sessions')).toBe(1);
    expect(await run()).toBe(0);
  });
});
