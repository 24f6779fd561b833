// The portfolio CSV reader end to end (contract §5): fixtures, whole-file problems, line
// numbers, streaming across chunk boundaries, late accents, fuzzing.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { CsvFileError, DebtCsvParser, readDebtCsv, readDebtCsvBatches, type CsvEvent } from '../../src/modules/portfolio/csv-reader.js';
import type { DebtRow } from '../../src/modules/portfolio/debt-row.js';
import { chunked, cpfFrom, cpfNumber, fixture, formatCpf, readAll, rejectionMap, TODAY } from '../fixtures/csv/support.js';

const HEADER = 'external_id;cpf;nome;valor;vencimento;descricao';

describe('fixtures', () => {
  it('reads an Excel pt-BR export: Windows-1252, `;`, CRLF, decimal comma, DD/MM/YYYY', async () => {
    const result = await readAll(fixture('excel-ptbr-win1252.csv'));
    expect(result.error).toBeNull();
    expect(result.rows).toHaveLength(8);
    expect(rejectionMap(result)).toEqual([
      [10, 'cpf'],
      [11, 'due_date'],
    ]);
    expect(result.summary).toEqual({ encoding: 'windows-1252', bom: false, delimiter: ';', rows: 8, rejected: 2, lastLine: 11 });
    expect(result.rows.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.rows[0]!.row).toEqual({
      external_id: 'CTR-001',
      cpf: cpfFrom('123456713'),
      name: 'João Conceição',
      email: 'joao.conceicao@exemplo.com.br',
      phone: '11987654321',
      amount_cents: 123_456,
      due_date: '2024-03-05',
      description: 'Mensalidade março/2024',
    });
    const byId = new Map(result.rows.map((r) => [r.row.external_id, r.row]));
    expect(byId.get('CTR-002')).toMatchObject({ name: 'Maria Antônia Gonçalves', phone: '1134567890', amount_cents: 8_990, due_date: '2024-02-29', description: 'Crediário — loja Centro' });
    expect(byId.get('CTR-003')).toMatchObject({ email: 'jose@exemplo.com', amount_cents: 1_500_000, description: 'Parcela nº 3' });
    expect(byId.get('CTR-004')).toMatchObject({ phone: '21998765432', amount_cents: 99, description: null });
    // due exactly five years before today: not prescribed
    expect(byId.get('CTR-005')).toMatchObject({ name: 'Sebastião Simões', due_date: '2021-06-15' });
    expect(byId.get('CTR-006')).toMatchObject({ amount_cents: 100_000, description: 'Cartão; fatura de outubro' });
    expect(byId.get('CTR-007')).toMatchObject({ amount_cents: 75_000 });
    expect(byId.get('CTR-008')).toMatchObject({ amount_cents: 199_999, description: 'Açougue São João' });
    expect(result.rejected[0]!.errors).toEqual([{ column: 'cpf', message: 'CPF inválido: dígito verificador não confere' }]);
    expect(result.rejected[1]!.errors).toEqual([
      { column: 'due_date', message: 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)' },
    ]);
  });

  it('reads UTF-8 with BOM and `,`, with quoted decimal commas and 4-byte characters', async () => {
    const result = await readAll(fixture('utf8-bom-comma.csv'));
    expect(result.error).toBeNull();
    expect(result.summary).toMatchObject({ encoding: 'utf-8', bom: true, delimiter: ',', rows: 4, rejected: 1 });
    expect(result.rows.map((r) => [r.line, r.row.external_id, r.row.name, r.row.amount_cents])).toEqual([
      [2, 'A-1', 'Conceição Araújo', 123_456],
      [3, 'A-2', 'Zoë Müller', 123_456],
      [4, 'A-3', 'François Ñuñez', 9_900],
      [6, 'A-5', 'Bia', 50],
    ]);
    expect(result.rows[0]!.row.description).toBe('Açaí 🍇 e pão de queijo');
    expect(result.rows[1]!.row.description).toBe('Parcela 2, de 10');
    expect(result.rejected).toEqual([{ type: 'rejected', line: 5, errors: [{ column: 'due_date', message: 'data inválida: 2026-13-01 não existe' }] }]);
  });

  it('counts one line per record however many physical lines its quoted values span', async () => {
    const result = await readAll(fixture('multiline-quoted.csv'));
    expect(result.error).toBeNull();
    expect(result.rows.map((r) => [r.line, r.row.external_id])).toEqual([
      [2, 'M-1'],
      [3, 'M-2'],
      [5, 'M-4'],
      [7, 'M-6'],
    ]);
    expect(rejectionMap(result)).toEqual([
      [4, 'cpf'],
      [6, 'amount'],
    ]);
    expect(result.rows[0]!.row.description).toBe('Linha 1\nLinha 2\nLinha 3');
    expect(result.rows[1]!.row).toMatchObject({ name: 'Silva; Rita', description: 'Ele disse "pague"; ok' });
    expect(result.rows[2]!.row.description).toBe('duas\n\nlinhas com uma vazia no meio');
  });

  it('ignores unknown columns, whatever they hold', async () => {
    const result = await readAll(fixture('extra-columns.csv'));
    expect(result.error).toBeNull();
    expect(result.rows.map((r) => [r.line, r.row.external_id, r.row.amount_cents])).toEqual([
      [2, 'E-1', 1_000],
      [3, 'E-2', 2_000],
      [4, 'E-3', 3_000],
    ]);
    expect(result.rejected).toEqual([]);
  });

  it('matches Portuguese header names in any order, case, spacing, `_` or `-`', async () => {
    const result = await readAll(fixture('shuffled-portuguese.csv'));
    expect(result.error).toBeNull();
    expect(result.summary).toMatchObject({ encoding: 'windows-1252', rows: 3, rejected: 0 });
    expect(result.rows[0]!.row).toEqual({
      external_id: 'K-1',
      cpf: cpfFrom('123457233'),
      name: 'Maria',
      email: 'maria@exemplo.com',
      phone: '11912345678',
      amount_cents: 150_000,
      due_date: '2025-02-01',
      description: 'Cheque devolvido',
    });
    expect(result.rows.map((r) => r.row.name)).toEqual(['Maria', 'Mário', 'Márcia']);
  });

  it('rejects every kind of bad row with its line and column, and keeps the good ones', async () => {
    const result = await readAll(fixture('bad-rows.csv'));
    expect(result.error).toBeNull();
    expect(result.rows.map((r) => [r.line, r.row.external_id])).toEqual([
      [2, 'B-01'],
      [30, 'B-29'],
      [33, 'B-31'],
    ]);
    expect(rejectionMap(result)).toEqual([
      [3, 'cpf'], // check digit
      [4, 'cpf'], // eleven equal digits
      [5, 'name'], // missing name
      [6, 'amount'], // zero
      [7, 'amount'], // negative
      [8, 'amount'], // 1.234 ambiguous
      [9, 'amount'], // three decimals
      [10, 'amount'], // letters
      [11, 'due_date'], // 31/02
      [12, 'due_date'], // month 13
      [13, 'due_date'], // prescribed
      [14, 'external_id'], // repeated
      [15, 'external_id'], // too long
      [16, 'name'], // too long
      [17, 'description'], // too long
      [18, 'email'],
      [19, 'phone'],
      [20, 'cpf'], // empty
      [21, 'external_id'], // empty
      [22, 'due_date'], // empty
      [23, 'amount', 'due_date'], // short row
      [24, null], // long row
      [25, 'cpf'], // 10 digits
      [26, 'cpf', 'email', 'phone', 'amount', 'due_date'], // all errors of the row
      [27, 'name'], // control character
      [28, 'due_date'], // 1/2/2025
      [29, 'external_id'], // repeats a rejected row
      [34, 'due_date'], // year 1899
      [35, 'description'], // control character
    ]);
    const messages = new Map(result.rejected.map((r) => [r.line, r.errors.map((e) => e.message)]));
    expect(messages.get(3)).toEqual(['CPF inválido: dígito verificador não confere']);
    expect(messages.get(4)).toEqual(['CPF inválido: todos os dígitos iguais']);
    expect(messages.get(5)).toEqual(['nome é obrigatório']);
    expect(messages.get(6)).toEqual(['valor deve ser positivo']);
    expect(messages.get(7)).toEqual(['valor deve ser positivo']);
    expect(messages.get(8)![0]).toMatch(/^valor "1\.234" é ambíguo/);
    expect(messages.get(9)![0]).toMatch(/mais de duas casas decimais/);
    expect(messages.get(10)![0]).toMatch(/não é um número/);
    expect(messages.get(11)).toEqual(['data inválida: 31/02/2026 não existe']);
    expect(messages.get(12)).toEqual(['data inválida: 2026-13-01 não existe']);
    expect(messages.get(13)).toEqual(['dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)']);
    expect(messages.get(14)).toEqual(['external_id repetido: já aparece na linha 2']);
    expect(messages.get(15)).toEqual(['external_id com mais de 64 caracteres']);
    expect(messages.get(16)).toEqual(['nome com mais de 200 caracteres']);
    expect(messages.get(17)).toEqual(['descrição com mais de 500 caracteres']);
    expect(messages.get(18)).toEqual(['e-mail inválido: "joao@"']);
    expect(messages.get(19)).toEqual(['telefone inválido: use DDD e número, como (11) 91234-5678']);
    expect(messages.get(20)).toEqual(['CPF é obrigatório']);
    expect(messages.get(21)).toEqual(['external_id é obrigatório']);
    expect(messages.get(22)).toEqual(['vencimento é obrigatório']);
    expect(messages.get(23)).toEqual([
      'campo ausente: a linha tem 3 campos, mas o cabeçalho tem 8',
      'campo ausente: a linha tem 3 campos, mas o cabeçalho tem 8',
    ]);
    expect(messages.get(24)![0]).toMatch(/^a linha tem 9 campos, mas o cabeçalho tem 8/);
    expect(messages.get(25)![0]).toMatch(/^CPF inválido: tem 10 dígitos em vez de 11/);
    expect(messages.get(26)![4]).toBe('data inválida: 32/01/2025 não existe');
    expect(messages.get(29)).toEqual(['external_id repetido: já aparece na linha 3']);
    expect(messages.get(34)![0]).toMatch(/1899/);
    // the normalised row
    expect(result.rows[2]!.row).toMatchObject({ name: 'Espaços Demais', phone: '11987654321', amount_cents: 123_456, description: 'texto' });
    // no message ever holds a whole CPF
    for (const rejection of result.rejected) for (const e of rejection.errors) expect(e.message).not.toMatch(/\d{3}\.?\d{3}\.?\d{3}-?\d{2}/);
  });

  it('reads a fixture from a file stream', async () => {
    const result = await readAll(createReadStream(new URL('../fixtures/csv/excel-ptbr-win1252.csv', import.meta.url), { highWaterMark: 16 }));
    expect(result.rows).toHaveLength(8);
    expect(result.rows[0]!.row.name).toBe('João Conceição');
  });

  const ALL_FIXTURES = ['excel-ptbr-win1252.csv', 'utf8-bom-comma.csv', 'multiline-quoted.csv', 'extra-columns.csv', 'shuffled-portuguese.csv', 'bad-rows.csv'];
  it('gives the same result whatever the chunking of the bytes', async () => {
    const whole = new Map<string, CsvEvent[]>();
    for (const name of ALL_FIXTURES) whole.set(name, (await readAll(fixture(name))).events);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_FIXTURES), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (name, sizes) => {
        const bytes = fixture(name);
        const chunks: Uint8Array[] = [];
        for (let at = 0, k = 0; at < bytes.length; k++) {
          const size = sizes[k % sizes.length]!;
          chunks.push(bytes.subarray(at, at + size));
          at += size;
        }
        const result = await readAll(chunks);
        expect(result.error).toBeNull();
        expect(result.events).toEqual(whole.get(name));
      }),
      { numRuns: 60 },
    );
  });
});

describe('whole-file problems', () => {
  async function fileError(input: Uint8Array | string | Uint8Array[]): Promise<CsvFileError> {
    const result = await readAll(input);
    expect(result.error).toBeInstanceOf(CsvFileError);
    return result.error!;
  }

  it('an .xlsx says to save the spreadsheet as CSV, before any row', async () => {
    const result = await readAll(fixture('planilha.xlsx'));
    expect(result.events).toEqual([]);
    expect(result.error!.code).toBe('spreadsheet');
    expect(result.error!.message).toContain('salve a planilha como CSV');
  });

  it('an old .xls too, and a PDF, UTF-16 and binary files are refused', async () => {
    const xls = await fileError(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0]));
    expect(xls.code).toBe('spreadsheet');
    expect(xls.message).toContain('salve a planilha como CSV');
    expect((await fileError(Buffer.from('%PDF-1.7\n%âãÏÓ\n'))).code).toBe('not_csv');
    const utf16 = await fileError(iconv.encode(`\ufeff${HEADER}\n`, 'utf16le'));
    expect(utf16.code).toBe('utf16');
    expect(utf16.message).toContain('CSV (separado por vírgulas)');
    expect((await fileError(Buffer.from([0xfe, 0xff, 0, 0x61]))).code).toBe('utf16');
    expect((await fileError(iconv.encode(`${HEADER}\n`, 'utf16le'))).code).toBe('not_csv'); // no BOM: NUL bytes
    // a NUL byte far into the file, in a later chunk
    const late = Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from(`A;${cpfNumber(1)};Ana;1,00;01/01/2025;x\n`.repeat(100)), Buffer.from([0])]);
    expect((await fileError([...chunked(late, 100)])).code).toBe('not_csv');
  });

  it('an empty upload, a BOM alone or blank lines alone', async () => {
    for (const input of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf]), '\r\n\r\n\n', []]) {
      const error = await fileError(input as Uint8Array);
      expect(error.code).toBe('empty');
      expect(error.message).toMatch(/vazio/);
    }
  });

  it('mixed line endings: a lone LF after a CRLF header still ends a record', async () => {
    const text = `${HEADER}\r\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;x\nB;${cpfNumber(2)};Bia;1,00;01/01/2025;x\r\n\r\nC;${cpfNumber(3)};Cid;1,00;01/01/2025;x`;
    const result = await readAll(text);
    expect(result.rows.map((r) => [r.line, r.row.external_id, r.row.description])).toEqual([
      [2, 'A', 'x'],
      [3, 'B', 'x'],
      [5, 'C', 'x'],
    ]);
    const lf = await readAll(`${HEADER}\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;x\r\nB;${cpfNumber(2)};Bia;1,00;01/01/2025;x\n`);
    expect(lf.rows.map((r) => r.row.description)).toEqual(['x', 'x']);
    const blankFirst = await readAll(`\r\n   \n${HEADER.replaceAll(';', ',')}\nA,${cpfNumber(1)},Ana,"1,00",01/01/2025,x\n`);
    expect(blankFirst.summary).toMatchObject({ delimiter: ',', rows: 1 });
    expect(blankFirst.rows.map((r) => r.line)).toEqual([2]);
  });

  it('quotes in the header: a quoted header cell may hold the delimiter or a line break', async () => {
    const quoted = await readAll(`"Código";"CPF";"Nome, completo";Valor "R$";"Vencimento\n(dd/mm)";nome\nA;${cpfNumber(1)};x;1,00;01/01/2025;Ana\n`);
    expect(quoted.error!.code).toBe('missing_columns'); // "Valor R$" and "Vencimento (dd/mm)" are not contract names
    expect(quoted.error!.message).toBe('faltam as colunas obrigatórias: amount (ou valor); due_date (ou vencimento, data_vencimento).');
    const ok = await readAll(`"Código","CPF","Obs ""x"", y",Nome,valor,"Vencimento"\r\nA,${cpfNumber(1)},,Ana,"1,00",01/01/2025\r\n`);
    expect(ok.error).toBeNull();
    expect(ok.summary).toMatchObject({ delimiter: ',', rows: 1 });
  });

  it('a header and no data rows fails at the end; blank rows are not data', async () => {
    const error = await fileError(fixture('header-only.csv'));
    expect(error.code).toBe('no_rows');
    expect(error.message).toMatch(/não tem linhas de dados/);
    expect((await fileError(`${HEADER}\n;;;;;\n\n;;;;;\n`)).code).toBe('no_rows');
  });

  it('a missing required column is named, all of them, before any row', async () => {
    const result = await readAll(fixture('missing-columns.csv'));
    expect(result.events).toEqual([]);
    expect(result.error!.code).toBe('missing_columns');
    expect(result.error!.line).toBe(1);
    expect(result.error!.message).toBe('faltam as colunas obrigatórias: cpf; amount (ou valor).');
    const one = await fileError(`external_id;cpf;nome;valor\nA;${cpfNumber(1)};Ana;1,00\n`);
    expect(one.message).toBe('falta a coluna obrigatória: due_date (ou vencimento, data_vencimento).');
    const none = await fileError(`${cpfNumber(1)};Ana;1,00\n`);
    expect(none.message).toMatch(/^faltam as colunas obrigatórias: external_id \(ou id_externo, codigo, contrato\); cpf; name \(ou nome\); amount \(ou valor\); due_date \(ou vencimento, data_vencimento\)\. A primeira linha/);
    const tabs = await fileError(`external_id\tcpf\tnome\tvalor\tvencimento\nA\t${cpfNumber(1)}\tAna\t1,00\t01/01/2025\n`);
    expect(tabs.message).toMatch(/tabulações/);
  });

  it('two columns meaning the same thing', async () => {
    const error = await fileError(fixture('duplicate-column.csv'));
    expect(error.code).toBe('duplicate_column');
    expect(error.message).toBe('as colunas "CPF" e "Cpf" do cabeçalho são a mesma coluna (cpf); deixe só uma');
    expect((await fileError(`codigo;contrato;cpf;nome;valor;vencimento\n`)).code).toBe('duplicate_column');
  });

  it('an unclosed quote fails the file with the row where it opened', async () => {
    const result = await readAll(fixture('unclosed-quote.csv'));
    expect(result.error!.code).toBe('syntax');
    expect(result.error!.line).toBe(3);
    expect(result.error!.message).toMatch(/^aspas não fechadas: o valor que começa na linha 3/);
  });

  it('CR-only files (old Mac), however the text is cut, even right after the header', async () => {
    const lines = [HEADER, `Á1;${cpfNumber(1)};Ana;1,00;01/01/2025;"um\rdois"`, `B;${cpfNumber(2)};Bia;2,00;01/01/2025;x`];
    for (const bytes of [Buffer.from(lines.join('\r') + '\r'), Buffer.from(lines.join('\r')), iconv.encode(lines.join('\r'), 'win1252')]) {
      for (const size of [1, 2, HEADER.length, HEADER.length + 1, 8192]) {
        const result = await readAll([...chunked(bytes, size)]);
        expect(result.error).toBeNull();
        expect(result.rows.map((r) => [r.line, r.row.external_id, r.row.description])).toEqual([
          [2, 'Á1', 'um\ndois'],
          [3, 'B', 'x'],
        ]);
      }
    }
  });

  it('a quoted last value with spaces, a tab or a CR after it, at the end of a file with no final line break', async () => {
    for (const tail of [' ', '\t', '\r', '  \r', '']) {
      const text = `${HEADER}\r\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;"fim; mesmo"${tail}`;
      for (const size of [1, 3, 8192]) {
        const result = await readAll([...chunked(Buffer.from(text), size)]);
        expect(result.error, JSON.stringify(tail)).toBeNull();
        expect(result.rows.map((r) => r.row.description)).toEqual(['fim; mesmo']);
      }
    }
    const open = await readAll(`${HEADER}\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;"sem fim `);
    expect(open.error!.message).toMatch(/^aspas não fechadas: o valor que começa na linha 2 /);
  });

  it('a closing quote followed by more text fails the file with its row', async () => {
    const text = `${HEADER}\r\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;ok\r\nB;${cpfNumber(2)};Bia;1,00;01/01/2025;"abc"def\r\nC;${cpfNumber(3)};Cid;1,00;01/01/2025;"x"\r\n`;
    for (const size of [1, 7, 8192]) {
      const result = await readAll([...chunked(Buffer.from(text), size)]);
      expect(result.error!.code).toBe('syntax');
      expect(result.error!.line).toBe(3);
      expect(result.error!.message).toMatch(/^aspas malformadas na linha 3: um valor entre aspas \("\) é seguido de outro texto/);
    }
  });

  it('quoted last cells, CRLF and LF mixed, spaces after a closing quote, blank rows: in any chunking', async () => {
    const text =
      `${HEADER}\r\n` +
      `A;${cpfNumber(1)};Ana;1,00;01/01/2025;"um; dois"\r\n` +
      `B;${cpfNumber(2)};Bia;1,00;01/01/2025;"três ""aspas"""  \n` +
      `\r\n` +
      `C;${cpfNumber(3)};Cid;1,00;01/01/2025;"linha\r\nquebrada"\n` +
      `D;${cpfNumber(4)};Dora;1,00;01/01/2025;fim`;
    for (const size of [1, 2, 3, 5, 64, 8192]) {
      const result = await readAll([...chunked(Buffer.from(text), size)]);
      expect(result.error).toBeNull();
      expect(result.rows.map((r) => [r.line, r.row.external_id, r.row.description])).toEqual([
        [2, 'A', 'um; dois'],
        [3, 'B', 'três "aspas"'],
        [5, 'C', 'linha\nquebrada'],
        [6, 'D', 'fim'],
      ]);
      expect(result.summary).toMatchObject({ rows: 4, rejected: 0, lastLine: 6 });
    }
  });

  it('a record over 100,000 characters fails the file (memory stays bounded)', async () => {
    const text = `${HEADER}\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;ok\nB;${cpfNumber(2)};Bia;1,00;01/01/2025;"${'x'.repeat(150_000)}"\n`;
    const error = await fileError([...chunked(Buffer.from(text), 8192)]);
    expect(error.code).toBe('syntax');
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/^a linha 3 passa de 100\.000 caracteres/);
  });

  it('a file that starts as UTF-8 and then holds a Windows-1252 byte names the row', async () => {
    const text = Buffer.concat([
      Buffer.from(`${HEADER}\nA;${cpfNumber(1)};João;1,00;01/01/2025;x\nB;${cpfNumber(2)};Bia;1,00;01/01/2025;x\n`),
      iconv.encode(`C;${cpfNumber(3)};Conceição;1,00;01/01/2025;x\n`, 'win1252'),
    ]);
    const result = await readAll([...chunked(text, 7)]);
    expect(result.error!.code).toBe('invalid_utf8');
    expect(result.error!.line).toBe(4);
    expect(result.error!.message).toMatch(/^arquivo com codificação inválida: .*a linha 4 /);
    // a truncated sequence at the very end
    const cut = Buffer.concat([Buffer.from(`${HEADER}\nA;${cpfNumber(1)};João;1,00;01/01/2025;x\nB;x;y;1;`), Buffer.from([0xe2, 0x80])]);
    expect((await readAll(cut)).error!.code).toBe('invalid_utf8');
  });
});

describe('encoding detection across a long file', () => {
  const cpf = cpfNumber(7);
  const asciiRow = (i: number) => `R${i};${cpf};Nome ${i};1,00;01/01/2025;x\n`;
  const ROWS = 200_000;

  async function countStreamed(bytes: Buffer, chunk: number): Promise<{ rows: number; rejected: number; names: Map<number, string>; encoding: string }> {
    const names = new Map<number, string>();
    let rows = 0;
    let rejected = 0;
    const iterator = readDebtCsvBatches(chunked(bytes, chunk), { today: TODAY, batchSize: 10_000 });
    let next = await iterator.next();
    for (; !next.done; next = await iterator.next()) {
      rows += next.value.rows.length;
      rejected += next.value.rejected.length;
      for (const r of next.value.rows) if (r.line > ROWS + 1) names.set(r.line, r.row.name);
    }
    return { rows, rejected, names, encoding: next.value.encoding };
  }

  function bigFile(tail: string): string {
    let text = `${HEADER}\n`;
    for (let i = 0; i < ROWS; i++) text += asciiRow(i);
    return text + tail;
  }

  const tail = `Z1;${cpfNumber(1e6)};João Conceição;1,00;01/01/2025;ação\nZ2;${cpfNumber(1e6 + 1)};Antônia;1,00;01/01/2025;x\n`;
  const text = bigFile(tail);

  it('Windows-1252 whose first accent comes after 200,000 ASCII rows, in small chunks', async () => {
    const result = await countStreamed(iconv.encode(text, 'win1252'), 4093);
    expect(result).toMatchObject({ rows: ROWS + 2, rejected: 0, encoding: 'windows-1252' });
    expect(result.names).toEqual(
      new Map([
        [ROWS + 2, 'João Conceição'],
        [ROWS + 3, 'Antônia'],
      ]),
    );
  });

  it('UTF-8 likewise', async () => {
    const result = await countStreamed(Buffer.from(text, 'utf8'), 4093);
    expect(result).toMatchObject({ rows: ROWS + 2, rejected: 0, encoding: 'utf-8' });
    expect(result.names.get(ROWS + 2)).toBe('João Conceição');
  });

  it('the first multi-byte character split at every position between two or three chunks', async () => {
    const small = `${HEADER}\nA;${cpfNumber(1)};Ana;1,00;01/01/2025;x\nB;${cpfNumber(2)};Zoë 🍇 — Ção;1,00;01/01/2025;x\n`;
    for (const encoding of ['utf8', 'win1252'] as const) {
      const source = encoding === 'utf8' ? small : small.replace('🍇', 'x');
      const bytes = encoding === 'utf8' ? Buffer.from(source) : iconv.encode(source, 'win1252');
      const first = bytes.findIndex((b) => b >= 0x80);
      const expected = (await readAll(bytes)).events;
      expect(expected).toHaveLength(2);
      expect((expected[1] as Extract<CsvEvent, { type: 'row' }>).row.name).toBe(source.split('\n')[2]!.split(';')[2]);
      for (let a = first - 1; a <= first + 12; a++) {
        for (let b = a + 1; b <= first + 13; b++) {
          const result = await readAll([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
          expect(result.events).toEqual(expected);
        }
      }
    }
  });
});

describe('API shapes', () => {
  const body = [
    HEADER,
    ...Array.from({ length: 12 }, (_, i) => `I-${i};${i === 5 ? '1' : cpfNumber(i)};Nome;1,00;01/01/2025;x`),
  ].join('\n');

  it('readDebtCsvBatches: batches of rows and rejections, in order, then the summary', async () => {
    const iterator = readDebtCsvBatches([Buffer.from(body)], { today: TODAY, batchSize: 5 });
    const batches = [];
    let next = await iterator.next();
    for (; !next.done; next = await iterator.next()) batches.push(next.value);
    expect(batches.map((b) => [b.rows.length, b.rejected.length])).toEqual([
      [5, 0],
      [4, 1],
      [2, 0],
    ]);
    expect(batches[1]!.rejected[0]!.line).toBe(7);
    expect(next.value).toMatchObject({ rows: 11, rejected: 1, lastLine: 13 });
  });

  it('readDebtCsv takes a Readable and string chunks; DebtCsvParser is the push-style engine', async () => {
    let count = 0;
    for await (const event of readDebtCsv(Readable.from([body.slice(0, 50), body.slice(50)]), { today: TODAY })) if (event.type === 'row') count++;
    expect(count).toBe(11);

    const engine = new DebtCsvParser({ today: TODAY });
    engine.write(Buffer.from(body));
    engine.end();
    expect(engine.take()).toHaveLength(12);
    expect(engine.summary()).toMatchObject({ rows: 11, rejected: 1, encoding: 'ascii', delimiter: ';' });
  });

  it('stops pulling input when the consumer stops', async () => {
    let pulled = 0;
    function* source() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.from(i === 0 ? `${HEADER}\n` : `X${i};${cpfNumber(i)};N;1,00;01/01/2025;x\n`);
      }
    }
    for await (const event of readDebtCsv(source(), { today: TODAY })) if (event.line >= 3) break;
    expect(pulled).toBeLessThan(10);
  });
});

describe('fuzzing', () => {
  it('random bytes never fail with anything but a CsvFileError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), async (bytes, size) => {
        await readAll([...chunked(bytes, size)]); // throws if the error is not a CsvFileError
      }),
      { numRuns: 300 },
    );
  });

  it('random CSV-ish text after a valid header: no crash, lines increase, counts add up', async () => {
    const alphabet = fc.constantFrom(';', ',', '"', '\n', '\r', ' ', 'a', 'Ç', 'ã', '1', '0', '/', '-', '.', 'R$', '\u0000', '\u00a0', '🍇', '\ufeff');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('external_id;cpf;nome;valor;vencimento\n', 'Código,CPF,Nome,Valor,Vencimento,Descrição\r\n'),
        fc.array(alphabet, { maxLength: 300 }).map((parts) => parts.join('')),
        fc.constantFrom('utf8', 'win1252') as fc.Arbitrary<'utf8' | 'win1252'>,
        fc.integer({ min: 1, max: 40 }),
        async (header, rest, encoding, size) => {
          const bytes = encoding === 'utf8' ? Buffer.from(header + rest) : iconv.encode(header + rest, 'win1252');
          const result = await readAll([...chunked(bytes, size)]);
          const lines = result.events.map((e) => e.line);
          for (let i = 1; i < lines.length; i++) expect(lines[i]!).toBeGreaterThan(lines[i - 1]!);
          if (lines.length > 0) expect(lines[0]!).toBeGreaterThanOrEqual(2);
          if (result.summary) expect(result.summary.rows + result.summary.rejected).toBe(result.events.length);
          for (const r of result.rejected) expect(r.errors.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  // Valid debts written the ways a spreadsheet writes them come back as the same rows.
  const letters = 'abcdefghijklmnopqrstuvwxyzáéíóúâêôãõçàüÁÉÍÓÚÂÊÔÃÕÇ';
  const word = fc
    .array(fc.constantFrom(...letters), { minLength: 1, maxLength: 10 })
    .map((chars) => chars.join(''));
  const debt: fc.Arbitrary<DebtRow> = fc.record({
    external_id: fc.stringMatching(/^[A-Za-z0-9_./-]{1,64}$/),
    cpf: fc.integer({ min: 1, max: 999_999_998 }).map((n) => cpfFrom(String(n).padStart(9, '0'))).filter((c) => !/^(\d)\1{10}$/.test(c)),
    name: fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join(' ')),
    email: fc.option(fc.tuple(word, word).map(([a, b]) => `${a.replace(/[^a-z]/g, 'x')}@${b.replace(/[^a-z]/g, 'y')}.com.br`), { nil: null }),
    phone: fc.option(fc.tuple(fc.integer({ min: 11, max: 99 }).filter((d) => d % 10 !== 0), fc.integer({ min: 10_000_000, max: 99_999_999 })).map(([ddd, n]) => `${ddd}9${n}`), { nil: null }),
    amount_cents: fc.integer({ min: 1, max: 99_999_999_999 }),
    due_date: fc.date({ min: new Date('2021-06-15T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    description: fc.option(fc.array(fc.oneof(word, fc.constantFrom(';', ',', '"', '\n', ' — ', 'nº')), { minLength: 1, maxLength: 8 }).map((p) => p.join('').trim() || 'x').map((d) => d.replace(/\s+\n|\n\s+/g, '\n')), { nil: null }),
  });

  function reais(cents: number, style: number): string {
    const integer = Math.floor(cents / 100).toString();
    const fraction = String(cents % 100).padStart(2, '0');
    const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
    return [`${integer},${fraction}`, `${grouped},${fraction}`, `R$ ${grouped},${fraction}`, `${integer}.${fraction}`][style]!;
  }
  const quote = (value: string) => (/[;,"\n\r]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value);

  it('valid rows round-trip through any delimiter, encoding, formatting and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(debt, { minLength: 1, maxLength: 12, selector: (d) => d.external_id }),
        fc.constantFrom(';', ','),
        fc.constantFrom('utf8', 'utf8bom', 'win1252'),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 97 }),
        async (debts, delimiter, encoding, eol, amountStyle, formatted, size) => {
          const header = ['Código', 'CPF', 'Nome', 'E-mail', 'Telefone', 'Valor', 'Vencimento', 'Descrição'].join(delimiter);
          const lines = debts.map((d) =>
            [
              d.external_id,
              formatted ? formatCpf(d.cpf) : d.cpf,
              d.name,
              d.email ?? '',
              d.phone === null ? '' : formatted ? `(${d.phone.slice(0, 2)}) ${d.phone.slice(2, 7)}-${d.phone.slice(7)}` : d.phone,
              reais(d.amount_cents, amountStyle),
              formatted ? `${d.due_date.slice(8)}/${d.due_date.slice(5, 7)}/${d.due_date.slice(0, 4)}` : d.due_date,
              d.description ?? '',
            ]
              .map(quote)
              .join(delimiter),
          );
          const text = [header, ...lines].join(eol) + eol;
          const bytes = encoding === 'win1252' ? iconv.encode(text, 'win1252') : Buffer.from(encoding === 'utf8bom' ? `\ufeff${text}` : text);
          const result = await readAll([...chunked(bytes, size)]);
          expect(result.error).toBeNull();
          expect(result.rejected).toEqual([]);
          expect(result.rows.map((r) => r.line)).toEqual(debts.map((_, i) => i + 2));
          expect(result.rows.map((r) => r.row)).toEqual(debts);
        },
      ),
      { numRuns: 150 },
    );
  });
});
