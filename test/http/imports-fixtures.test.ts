// Portfolio intake through the real app (CONTRACT §4.3, §5): every fixture spreadsheet of
// test/fixtures/csv/ uploaded through POST /api/v1/imports, as a raw text/csv body and as
// the multipart field `file`, with the exact counts, errors and stored debts; and the
// whole-file failures, which store nothing.
//
// The app's clock is set to the fixtures' TODAY (2026-06-15, support.ts), the day the
// fixtures were written for: the prescription cutoff is then 2021-06-15, so the fixtures'
// boundary rows are exercised as designed (due exactly 5 years ago: kept; a day earlier:
// "dívida prescrita").
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { importCsv, type ImportResult } from '../helpers/imports.js';
import { allDebts, fixtureCpf as cpf, type Auth, type DebtBody } from '../helpers/portfolio.js';
import { seedCreditor, type SeededCreditor } from '../helpers/seed.js';
import { cpfNumber, fixture, formatCpf, TODAY } from '../fixtures/csv/support.js';

const PRESCRIBED = 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)';

let t: TestApp;
/** raw text/csv uploads */
let raw: SeededCreditor;
/** the same files as multipart */
let multi: SeededCreditor;

beforeAll(async () => {
  t = await buildTestApp({ now: new Date(`${TODAY}T12:00:00-03:00`) });
  [raw, multi] = await Promise.all([seedCreditor(t), seedCreditor(t)]);
});
afterAll(async () => t.close());

type Stored = Pick<DebtBody, 'external_id' | 'cpf' | 'name' | 'email' | 'phone' | 'amount_cents' | 'due_date' | 'description'>;
type Err = { line: number; column: string | null; message: string };

function debt(external_id: string, cpfDigits: string, name: string, amount_cents: number, due_date: string, extra: Partial<Stored> = {}): Stored {
  return { external_id, cpf: cpfDigits, name, email: null, phone: null, amount_cents, due_date, description: null, ...extra };
}

interface FixtureCase {
  file: string;
  total: number;
  errors: Err[];
  debts: Stored[];
}

const CASES: FixtureCase[] = [
  {
    file: 'excel-ptbr-win1252.csv',
    total: 10,
    errors: [
      { line: 10, column: 'cpf', message: 'CPF inválido: dígito verificador não confere' },
      { line: 11, column: 'due_date', message: PRESCRIBED },
    ],
    debts: [
      debt('CTR-001', cpf(1), 'João Conceição', 123_456, '2024-03-05', { email: 'joao.conceicao@exemplo.com.br', phone: '11987654321', description: 'Mensalidade março/2024' }),
      debt('CTR-002', cpf(2), 'Maria Antônia Gonçalves', 8_990, '2024-02-29', { phone: '1134567890', description: 'Crediário — loja Centro' }),
      debt('CTR-003', cpf(3), 'José Araújo', 1_500_000, '2023-12-31', { email: 'jose@exemplo.com', description: 'Parcela nº 3' }),
      debt('CTR-004', cpf(4), 'Luís Magalhães', 99, '2025-01-01', { phone: '21998765432' }),
      // due exactly five years before today: still collectable
      debt('CTR-005', cpf(5), 'Sebastião Simões', 250_000, '2021-06-15', { description: 'Consórcio — grupo 12' }),
      debt('CTR-006', cpf(6), 'Ângela Brandão', 100_000, '2025-10-10', { email: 'angela@exemplo.com.br', phone: '3132221100', description: 'Cartão; fatura de outubro' }),
      debt('CTR-007', cpf(7), 'Inês Assunção', 75_000, '2026-05-20', { description: 'Empréstimo pessoal' }),
      debt('CTR-008', cpf(8), 'Conceição Lopes', 199_999, '2022-07-07', { description: 'Açougue São João' }),
    ],
  },
  {
    file: 'utf8-bom-comma.csv',
    total: 5,
    errors: [{ line: 5, column: 'due_date', message: 'data inválida: 2026-13-01 não existe' }],
    debts: [
      debt('A-1', cpf(11), 'Conceição Araújo', 123_456, '2025-01-31', { email: 'conceicao@exemplo.com', description: 'Açaí 🍇 e pão de queijo' }),
      debt('A-2', cpf(12), 'Zoë Müller', 123_456, '2024-02-29', { description: 'Parcela 2, de 10' }),
      debt('A-3', cpf(13), 'François Ñuñez', 9_900, '2023-07-01'),
      debt('A-5', cpf(15), 'Bia', 50, '2026-06-15'),
    ],
  },
  {
    file: 'multiline-quoted.csv',
    total: 6,
    errors: [
      { line: 4, column: 'cpf', message: 'CPF inválido: todos os dígitos iguais' },
      { line: 6, column: 'amount', message: 'valor "quatrocentos" não é um número: use 1234,56 ou 1.234,56' },
    ],
    debts: [
      debt('M-1', cpf(21), 'Rita', 10_000, '2025-03-01', { description: 'Linha 1\nLinha 2\nLinha 3' }),
      debt('M-2', cpf(22), 'Silva; Rita', 20_000, '2025-03-01', { description: 'Ele disse "pague"; ok' }),
      debt('M-4', cpf(24), 'Rosa', 40_000, '2025-03-01', { description: 'duas\n\nlinhas com uma vazia no meio' }),
      debt('M-6', cpf(26), 'Renata', 60_000, '2025-03-01', { description: 'última' }),
    ],
  },
  {
    file: 'extra-columns.csv',
    total: 3,
    errors: [],
    debts: [debt('E-1', cpf(31), 'Paulo', 1_000, '2025-01-01'), debt('E-2', cpf(32), 'Pedro', 2_000, '2025-01-02'), debt('E-3', cpf(33), 'Priscila', 3_000, '2025-01-03')],
  },
  {
    file: 'shuffled-portuguese.csv',
    total: 3,
    errors: [],
    debts: [
      debt('K-1', cpf(41), 'Maria', 150_000, '2025-02-01', { email: 'maria@exemplo.com', phone: '11912345678', description: 'Cheque devolvido' }),
      debt('K-2', cpf(42), 'Mário', 200, '2025-02-02'),
      debt('K-3', cpf(43), 'Márcia', 300, '2025-02-03'),
    ],
  },
];

/** bad-rows.csv: every kind of bad row, with its line, column and message. */
const BAD_ROWS_ERRORS: Err[] = [
  { line: 3, column: 'cpf', message: 'CPF inválido: dígito verificador não confere' },
  { line: 4, column: 'cpf', message: 'CPF inválido: todos os dígitos iguais' },
  { line: 5, column: 'name', message: 'nome é obrigatório' },
  { line: 6, column: 'amount', message: 'valor deve ser positivo' }, // 0,00
  { line: 7, column: 'amount', message: 'valor deve ser positivo' }, // -10,00
  { line: 8, column: 'amount', message: 'valor "1.234" é ambíguo: para milhares escreva 1.234,00 ou 1234,00; para centavos use vírgula (1,23)' },
  { line: 9, column: 'amount', message: 'valor "10,123" tem mais de duas casas decimais' },
  { line: 10, column: 'amount', message: 'valor "dez reais" não é um número: use 1234,56 ou 1.234,56' },
  { line: 11, column: 'due_date', message: 'data inválida: 31/02/2026 não existe' },
  { line: 12, column: 'due_date', message: 'data inválida: 2026-13-01 não existe' },
  { line: 13, column: 'due_date', message: PRESCRIBED }, // 14/06/2021: one day past the line
  { line: 14, column: 'external_id', message: 'external_id repetido: já aparece na linha 2' },
  { line: 15, column: 'external_id', message: 'external_id com mais de 64 caracteres' },
  { line: 16, column: 'name', message: 'nome com mais de 200 caracteres' },
  { line: 17, column: 'description', message: 'descrição com mais de 500 caracteres' },
  { line: 18, column: 'email', message: 'e-mail inválido: "joao@"' },
  { line: 19, column: 'phone', message: 'telefone inválido: use DDD e número, como (11) 91234-5678' },
  { line: 20, column: 'cpf', message: 'CPF é obrigatório' },
  { line: 21, column: 'external_id', message: 'external_id é obrigatório' },
  { line: 22, column: 'due_date', message: 'vencimento é obrigatório' },
  { line: 23, column: 'amount', message: 'campo ausente: a linha tem 3 campos, mas o cabeçalho tem 8' }, // short row
  { line: 23, column: 'due_date', message: 'campo ausente: a linha tem 3 campos, mas o cabeçalho tem 8' },
  { line: 24, column: null, message: 'a linha tem 9 campos, mas o cabeçalho tem 8: algum valor contém o separador ";" sem estar entre aspas?' },
  { line: 25, column: 'cpf', message: 'CPF inválido: tem 10 dígitos em vez de 11 (o Excel remove zeros à esquerda de números; formate a coluna como texto)' },
  { line: 26, column: 'cpf', message: 'CPF inválido: formato não reconhecido' },
  { line: 26, column: 'email', message: 'e-mail inválido: "x@"' },
  { line: 26, column: 'phone', message: 'telefone inválido: use DDD e número, como (11) 91234-5678' },
  { line: 26, column: 'amount', message: 'valor "abc" não é um número: use 1234,56 ou 1.234,56' },
  { line: 26, column: 'due_date', message: 'data inválida: 32/01/2025 não existe' },
  { line: 27, column: 'name', message: 'nome contém quebra de linha ou caracteres de controle' },
  { line: 28, column: 'due_date', message: 'data inválida: "1/2/2025" — use DD/MM/AAAA ou AAAA-MM-DD' },
  // repeats the id of line 3, which was itself rejected
  { line: 29, column: 'external_id', message: 'external_id repetido: já aparece na linha 3' },
  { line: 34, column: 'due_date', message: 'data inválida: 01/01/1899 — o ano deve estar entre 1900 e 2999' },
  { line: 35, column: 'description', message: 'descrição contém caracteres de controle' },
];

CASES.push({
  file: 'bad-rows.csv',
  // 35 lines: the header, 32 data rows, a `;;;;;;;` row and an empty line (skipped, but counted for numbering)
  total: 32,
  errors: BAD_ROWS_ERRORS,
  debts: [
    debt('B-01', cpf(51), 'Válido Um', 1_000, '2025-01-01'),
    // due exactly five years before today
    debt('B-29', cpf(79), 'Limite Prescrição', 1_000, '2021-06-15'),
    // trimmed, inner spaces collapsed, +55 phone, R$ amount, ISO date
    debt('B-31', cpf(81), 'Espaços Demais', 123_456, '2025-12-31', { phone: '11987654321', description: 'texto' }),
  ],
});

function stored(list: DebtBody[], ids: readonly string[]): Stored[] {
  const byId = new Map(list.map((d) => [d.external_id, d]));
  return ids.map((id) => {
    const d = byId.get(id);
    expect(d, `debt ${id} stored`).toBeDefined();
    const { external_id, cpf: c, name, email, phone, amount_cents, due_date, description } = d!;
    return { external_id, cpf: c, name, email, phone, amount_cents, due_date, description };
  });
}

describe('fixture spreadsheets, as a text/csv body and as multipart `file`', () => {
  const imported = { raw: new Set<string>(), multi: new Set<string>() };

  for (const c of CASES) {
    it(c.file, async () => {
      const bytes = fixture(c.file);
      const [viaRaw, viaMulti] = [await importCsv(t, raw.auth, bytes), await importCsv(t, multi.auth, bytes, { multipart: true })];
      for (const result of [viaRaw, viaMulti]) {
        expect(result).toMatchObject({
          status: 'completed',
          dry_run: false,
          rows_total: c.total,
          rows_imported: c.debts.length,
          rows_rejected: new Set(c.errors.map((e) => e.line)).size,
          finished_at: expect.any(String),
        });
        expect(result.error).toBeUndefined();
        expect(result.errors).toEqual(c.errors);
      }
      for (const [who, creditor] of [['raw', raw], ['multi', multi]] as const) {
        for (const d of c.debts) imported[who].add(d.external_id);
        const list = await allDebts(t, creditor.auth);
        // nothing else was stored: only the accepted rows of the files uploaded so far
        expect(new Set(list.map((d) => d.external_id))).toEqual(imported[who]);
        expect(stored(list, c.debts.map((d) => d.external_id))).toEqual(c.debts);
        for (const d of list) expect(d).toMatchObject({ status: 'open', credited_cents: 0, withdrawn_reason: null });
      }
      // both ways of uploading store the very same debts
      expect(await allDebts(t, multi.auth)).toEqual(await allDebts(t, raw.auth));
    });
  }

  it('one debt read back alone: accents from Windows-1252, centavos, ISO date', async () => {
    const res = await t.request.get('/api/v1/debts/CTR-001').set(raw.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      external_id: 'CTR-001',
      cpf: cpf(1),
      name: 'João Conceição',
      amount_cents: 123_456,
      due_date: '2024-03-05',
      description: 'Mensalidade março/2024',
      status: 'open',
    });
  });
});

/** Uploads `body` both ways and checks that each fails as a whole with `error`, storing nothing. */
async function expectFileFails(c: SeededCreditor, body: Buffer, error: string | RegExp, opts: { checkTotal?: boolean } = {}): Promise<ImportResult[]> {
  const before = await allDebts(t, c.auth);
  const results = [await importCsv(t, c.auth, body), await importCsv(t, c.auth, body, { multipart: true })];
  for (const result of results) {
    expect(result).toMatchObject({ status: 'failed', dry_run: false, rows_imported: 0, rows_rejected: 0, errors: [], finished_at: expect.any(String) });
    if (opts.checkTotal !== false) expect(result.rows_total).toBe(0);
    if (typeof error === 'string') expect(result.error).toBe(error);
    else expect(result.error).toMatch(error);
  }
  expect(await allDebts(t, c.auth)).toEqual(before);
  return results;
}

describe('whole-file failures: status failed, a Portuguese error, nothing stored', () => {
  let f: SeededCreditor;
  const HEADER = 'external_id;cpf;nome;valor;vencimento;descricao';
  beforeAll(async () => {
    f = await seedCreditor(t);
    // debts already there, that the failing files below would otherwise update
    const seeded = await importCsv(t, f.auth, `${HEADER}\nU-1;${cpf(92)};Ana Antiga;5,00;01/01/2024;antes\nX-1;${cpf(93)};Xavier;7,00;01/01/2024;\n`);
    expect(seeded).toMatchObject({ status: 'completed', rows_imported: 2 });
  });

  it('an .xlsx: save the spreadsheet as CSV', async () => {
    await expectFileFails(
      f,
      fixture('planilha.xlsx'),
      'o arquivo é uma planilha do Excel (.xlsx) ou outro arquivo compactado, não um CSV; salve a planilha como CSV: no Excel, Arquivo › Salvar como › "CSV (separado por vírgulas)" ou "CSV UTF-8", e envie de novo',
    );
  });

  it('a header and no data rows', async () => {
    await expectFileFails(f, fixture('header-only.csv'), 'o arquivo não tem linhas de dados: só o cabeçalho; inclua uma dívida por linha abaixo dele');
    await expectFileFails(f, Buffer.from(`${HEADER}\r\n;;;;;\r\n\r\n`), 'o arquivo não tem linhas de dados: só o cabeçalho; inclua uma dívida por linha abaixo dele');
  });

  it('missing required columns: the message names each of them', async () => {
    const [result] = await expectFileFails(f, fixture('missing-columns.csv'), /^faltam as colunas obrigatórias: cpf; amount \(ou valor\)\./);
    expect(result!.error).not.toMatch(/external_id|name|due_date/);
    await expectFileFails(f, Buffer.from(`external_id;cpf;nome;valor\nU-1;${cpf(92)};Ana;1,00\n`), /^falta a coluna obrigatória: due_date \(ou vencimento, data_vencimento\)\./);
  });

  it('two columns meaning the same one', async () => {
    await expectFileFails(f, fixture('duplicate-column.csv'), /^as colunas "CPF" e "Cpf" do cabeçalho são a mesma coluna \(cpf\); deixe só uma/);
  });

  it('an empty upload, and a BOM alone', async () => {
    await expectFileFails(f, Buffer.alloc(0), 'o arquivo está vazio');
    await expectFileFails(f, Buffer.from([0xef, 0xbb, 0xbf]), /^o arquivo está vazio/);
  });

  it('UTF-16 with a BOM (little and big endian)', async () => {
    const message = 'o arquivo está em UTF-16 ("Texto Unicode"), que não é aceito; salve a planilha como "CSV UTF-8" ou "CSV (separado por vírgulas)"';
    const text = `\ufeff${HEADER}\nU-1;${cpf(92)};Ana;1,00;01/01/2025;x\n`;
    await expectFileFails(f, iconv.encode(text, 'utf16le'), message);
    await expectFileFails(f, iconv.encode(text, 'utf16be'), message);
  });

  it('an unclosed quote after a valid row that would have updated a debt', async () => {
    await expectFileFails(f, fixture('unclosed-quote.csv'), /^aspas não fechadas: o valor que começa na linha 3 /);
  });

  // 6,000 rows (the first 5,000 are staged before the failure), one of them bad, then an unclosed quote.
  const bigFailing = () => {
    let body = `${HEADER}\nU-1;${cpf(92)};Ana Nova;9,99;01/01/2025;depois\n`;
    for (let i = 0; i < 6_000; i++) body += `BIG-${i};${i === 10 ? '123' : cpfNumber(i)};Nome ${i};1,00;01/01/2025;x\n`;
    return Buffer.from(`${body}Z-1;${cpfNumber(1)};Zé;1,00;01/01/2025;"sem fim\n`);
  };

  it('a failure after more rows than one staging chunk (5,000) changes nothing either', async () => {
    await expectFileFails(f, bigFailing(), /^aspas não fechadas: o valor que começa na linha 6003 /, { checkTotal: false });
  });

  // A file that fails after its first 5,000-row chunk was read still reports no rows.
  it('a failed import reports no rows, however far the reading got', async () => {
    const result = await importCsv(t, f.auth, bigFailing());
    expect(result).toMatchObject({ status: 'failed', rows_total: 0, rows_imported: 0, rows_rejected: 0, errors: [] });
  });

  it('a file that starts as UTF-8 and then switches to Windows-1252', async () => {
    const body = Buffer.concat([Buffer.from(`${HEADER}\nU-1;${cpf(92)};João;1,00;01/01/2025;x\n`), iconv.encode(`X-1;${cpf(93)};Conceição;1,00;01/01/2025;x\n`, 'win1252')]);
    await expectFileFails(f, body, /^arquivo com codificação inválida: .*a linha 3 /);
  });

  it('the debts that were there before are untouched', async () => {
    const res = await t.request.get('/api/v1/debts/U-1').set(f.auth);
    expect(res.body).toMatchObject({ name: 'Ana Antiga', amount_cents: 500, due_date: '2024-01-01', description: 'antes' });
    expect((await allDebts(t, f.auth)).map((d) => d.external_id).sort()).toEqual(['U-1', 'X-1']);
  });
});

describe('one accented file, two encodings', () => {
  it('the same rows in Windows-1252 and in UTF-8 store the same names', async () => {
    const [w, u] = await Promise.all([seedCreditor(t), seedCreditor(t)]);
    const text = `Código;CPF;Nome;Valor;Vencimento;Descrição\r\nÇ-1;${formatCpf(cpf(1))};João Conceição;1.234,56;05/03/2024;Ação — "única"\r\n`;
    await checkSame(w.auth, iconv.encode(text, 'win1252'), u.auth, Buffer.from(text, 'utf8'));
  });

  async function checkSame(a: Auth, aBody: Buffer, b: Auth, bBody: Buffer): Promise<void> {
    expect(await importCsv(t, a, aBody)).toMatchObject({ status: 'completed', rows_imported: 1, rows_rejected: 0 });
    expect(await importCsv(t, b, bBody, { multipart: true })).toMatchObject({ status: 'completed', rows_imported: 1, rows_rejected: 0 });
    const [da, db] = [await allDebts(t, a), await allDebts(t, b)];
    expect(da).toEqual(db);
    expect(da[0]).toMatchObject({ external_id: 'Ç-1', name: 'João Conceição', amount_cents: 123_456, due_date: '2024-03-05', description: 'Ação — "única"' });
  }
});
