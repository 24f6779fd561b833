import { openPostgres } from '../src/db/client.js';
import { createSessionRepository } from '../src/modules/portal/session.js';
import pg from 'pg';
const d = openPostgres(process.env.URL!);
const orig = pg.Pool.prototype.query;
pg.Pool.prototype.query = function (cfg: any, ...rest: any[]) { if (cfg?.name === 'portal_session_debts_page') { console.log(cfg.text); process.exit(0); } return (orig as any).call(this, cfg, ...rest); } as any;
await createSessionRepository(d.db).loadDebtsPage('x'.repeat(64), new Date(), '2021-01-01');
