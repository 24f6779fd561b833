// On an empty embedded database, `npm start` seeds a demo creditor and portfolio so that
// a new user sees Quita working at once.
import { count } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { creditors, debts, debtors } from '../db/schema/index.js';
import type { Clock } from '../lib/clock.js';
import { addDays, calendarDateAt } from '../lib/dates.js';
import { completeCpf } from '../lib/documents.js';
import { createCreditorService } from '../modules/creditors/creditors.service.js';
import { createLinkService, DEFAULT_LINK_TTL_HOURS, linkUrl } from '../modules/portal/links.service.js';

export interface DemoSeed {
  creditorName: string;
  clientId: string;
  clientSecret: string;
  debtorCpf: string;
  link: string | null;
}

const DEBTORS = [
  { nine: '390533447', name: 'Maria Aparecida dos Santos', email: 'maria.santos@example.com', phone: '11987654321' },
  { nine: '123456780', name: 'João Conceição Pereira', email: null, phone: '21998765432' },
  { nine: '987654320', name: 'Ana Beatriz Lima', email: 'ana.lima@example.com', phone: null },
  { nine: '456789012', name: 'Carlos Eduardo Souza', email: 'carlos.souza@example.com', phone: '31991234567' },
];

const ITEMS = ['Mensalidade escolar', 'Parcela do carnê', 'Compra no crediário', 'Consulta odontológica', 'Material didático', 'Taxa de matrícula'];

export async function seedDemo(deps: { database: Database; clock: Clock; config: Config }): Promise<DemoSeed | null> {
  const { database, clock, config } = deps;
  const db = database.db;
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(creditors);
  if (n > 0) return null;

  const service = createCreditorService({ db, clock });
  const created = await service.create({
    name: 'Escola Caminho do Saber Ltda',
    document: '34567890000130',
    address: { street: 'Rua das Acácias, 120 - Centro', city: 'Campinas', state: 'SP', postal_code: '13010050' },
    email: 'financeiro@caminhodosaber.example.com',
    phone: '1932345678',
    pix_key: 'financeiro@caminhodosaber.example.com',
    financial_institution: false,
  });

  const today = calendarDateAt(clock.now(), config.tzBusiness);
  const rows: (typeof debts.$inferInsert)[] = [];
  DEBTORS.forEach((d, di) => {
    const cpf = completeCpf(d.nine);
    const perDebtor = di === 0 ? 9 : 7;
    for (let k = 0; k < perDebtor; k++) {
      const daysAgo = [12, 45, 95, 130, 200, 370, 540, 800, 1100][k % 9]! + di * 3;
      rows.push({
        creditorId: created.creditor_id,
        externalId: `DEMO-${di + 1}-${String(k + 1).padStart(3, '0')}`,
        cpf,
        name: d.name,
        email: d.email,
        phone: d.phone,
        amountCents: 15_000 + ((di * 7919 + k * 104_729) % 180_000),
        dueDate: addDays(today, -daysAgo),
        description: `${ITEMS[(di + k) % ITEMS.length]} ${k + 1}`,
      });
    }
  });
  await db.transaction(async (tx) => {
    await tx.insert(debtors).values(DEBTORS.map((d) => ({ cpf: completeCpf(d.nine) }))).onConflictDoNothing();
    await tx.insert(debts).values(rows);
  });
  const debtorCpf = completeCpf(DEBTORS[0]!.nine);
  const links = createLinkService({ db, clock, secretKey: config.secretKey, tz: config.tzBusiness });
  const link = await links.create(created.creditor_id, debtorCpf, DEFAULT_LINK_TTL_HOURS);
  return {
    creditorName: 'Escola Caminho do Saber Ltda',
    clientId: created.client_id,
    clientSecret: created.client_secret,
    debtorCpf,
    link: linkUrl(config.publicUrl, link.token),
  };
}
