// The rules for one debt, shared by the CSV import and the JSON batch (contract §4.3, §5).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCpf } from '../../src/lib/documents.js';
import { parseIsoDate, parseSpreadsheetDate } from '../../src/lib/dates.js';
import { parseReais } from '../../src/lib/money.js';
import {
  checkJsonBatch,
  createDebtRules,
  fastCpf,
  fastPhone,
  fastReais,
  isPrescribed,
  normalizeBrazilianPhone,
  parseDueDate,
  prescriptionCutoff,
  PRESCRIBED_MESSAGE,
  type DebtCells,
  type DebtColumn,
} from '../../src/modules/portfolio/debt-row.js';
import { columnForHeader, detectDelimiter, normalizeHeader } from '../../src/modules/portfolio/headers.js';
import { cpfFrom } from '../fixtures/csv/support.js';

const TODAY = '2026-06-15';
const rules = createDebtRules(TODAY);
const CPF = cpfFrom('529982247'); // 52998224725
const good: DebtCells = { external_id: 'X-1', cpf: '529.982.247-25', name: 'Ana', amount: '10,00', due_date: '01/01/2025' };
const goodJson = { external_id: 'X-1', cpf: CPF, name: 'Ana', amount_cents: 1000, due_date: '2025-01-01' };

function cellErrors(cells: DebtCells, absent?: string) {
  const result = rules.checkCells({ ...good, ...cells }, absent);
  return result.ok ? [] : result.errors;
}

function jsonErrors(item: unknown) {
  const result = rules.checkJson(item);
  return result.ok ? [] : result.errors;
}

describe('CSV cells', () => {
  it('normalises a good row', () => {
    expect(
      rules.checkCells({
        external_id: '  X-1 ',
        cpf: ' 529.982.247-25 ',
        name: '  Ana \t Maria\u00a0 da  Silva ',
        email: ' Ana@Exemplo.COM ',
        phone: '+55 (11) 98765-4321',
        amount: 'R$ 1.234,56',
        due_date: ' 2025-01-31 ',
        description: '  linha 1\r\nlinha 2\tcom tab  ',
      }),
    ).toEqual({
      ok: true,
      row: {
        external_id: 'X-1',
        cpf: CPF,
        name: 'Ana Maria da Silva',
        email: 'ana@exemplo.com',
        phone: '11987654321',
        amount_cents: 123_456,
        due_date: '2025-01-31',
        description: 'linha 1\nlinha 2\tcom tab',
      },
    });
  });

  it('reports every bad column of a row, in column order', () => {
    expect(cellErrors({ external_id: '', cpf: '123', name: '', email: 'a@b', phone: '1', amount: '0', due_date: 'ontem', description: 'x\u0000' })).toEqual([
      { column: 'external_id', message: 'external_id é obrigatório' },
      { column: 'cpf', message: 'CPF inválido: formato não reconhecido' },
      { column: 'name', message: 'nome é obrigatório' },
      { column: 'email', message: 'e-mail inválido: "a@b"' },
      { column: 'phone', message: 'telefone inválido: use DDD e número, como (11) 91234-5678' },
      { column: 'amount', message: 'valor deve ser positivo' },
      { column: 'due_date', message: 'data inválida: "ontem" — use DD/MM/AAAA ou AAAA-MM-DD' },
      { column: 'description', message: 'descrição contém caracteres de controle' },
    ]);
  });

  it('lengths count characters (code points)', () => {
    expect(cellErrors({ external_id: 'x'.repeat(64) })).toEqual([]);
    expect(cellErrors({ external_id: '🍇'.repeat(64) })).toEqual([]);
    expect(cellErrors({ external_id: 'x'.repeat(65) })).toEqual([{ column: 'external_id', message: 'external_id com mais de 64 caracteres' }]);
    expect(cellErrors({ name: 'ç'.repeat(200) })).toEqual([]);
    expect(cellErrors({ name: 'ç'.repeat(201) })).toEqual([{ column: 'name', message: 'nome com mais de 200 caracteres' }]);
    expect(cellErrors({ description: 'd'.repeat(500) })).toEqual([]);
    expect(cellErrors({ description: 'd'.repeat(501) })).toEqual([{ column: 'description', message: 'descrição com mais de 500 caracteres' }]);
  });

  it('refuses control characters, but a description may hold line breaks', () => {
    expect(cellErrors({ external_id: 'A\u0007' })).toHaveLength(1);
    expect(cellErrors({ external_id: 'A\tB' })).toHaveLength(1);
    expect(cellErrors({ name: 'Ana\nMaria' })).toEqual([{ column: 'name', message: 'nome contém quebra de linha ou caracteres de controle' }]);
    expect(cellErrors({ name: 'Ana\u202eMaria' })).toHaveLength(1); // bidi override
    expect(cellErrors({ name: 'Ana\u0085' })).toHaveLength(1); // C1
    expect(cellErrors({ description: 'a\nb\r\nc\td' })).toEqual([]);
  });

  it('a short row: absent required cells get the row-level message, absent optional ones are empty', () => {
    const result = rules.checkCells({ external_id: 'X', cpf: CPF, name: 'Ana' }, 'campo ausente');
    expect(result).toEqual({
      ok: false,
      errors: [
        { column: 'amount', message: 'campo ausente' },
        { column: 'due_date', message: 'campo ausente' },
      ],
    });
  });

  it('CPF: formatted or 11 digits, both check digits, a hint for lost leading zeros', () => {
    expect(cellErrors({ cpf: CPF })).toEqual([]);
    expect(cellErrors({ cpf: '529.982.247-24' })).toEqual([{ column: 'cpf', message: 'CPF inválido: dígito verificador não confere' }]);
    expect(cellErrors({ cpf: '00000000000' })).toEqual([{ column: 'cpf', message: 'CPF inválido: todos os dígitos iguais' }]);
    expect(cellErrors({ cpf: '529982247 25' })).toEqual([{ column: 'cpf', message: 'CPF inválido: formato não reconhecido' }]);
    expect(cellErrors({ cpf: '' })).toEqual([{ column: 'cpf', message: 'CPF é obrigatório' }]);
    const zero = cpfFrom('012345678');
    expect(cellErrors({ cpf: zero })).toEqual([]);
    expect(cellErrors({ cpf: zero.slice(1) })[0]!.message).toMatch(/^CPF inválido: tem 10 dígitos em vez de 11 \(o Excel remove zeros à esquerda/);
  });

  it('amounts as a Brazilian spreadsheet writes them', () => {
    const cents = (amount: string) => {
      const result = rules.checkCells({ ...good, amount });
      return result.ok ? result.row.amount_cents : result.errors[0]!.message;
    };
    expect(cents('1234.56')).toBe(123_456);
    expect(cents('1234,56')).toBe(123_456);
    expect(cents('1.234,56')).toBe(123_456);
    expect(cents('R$ 1.234,56')).toBe(123_456);
    expect(cents('R$\u00a01.234.567,8')).toBe(123_456_780);
    expect(cents('0,01')).toBe(1);
    expect(cents('7')).toBe(700);
    expect(cents('0,00')).toBe('valor deve ser positivo');
    expect(cents('-1,00')).toBe('valor deve ser positivo');
    expect(cents('1.234')).toMatch(/ambíguo/);
    expect(cents('1,234')).toMatch(/mais de duas casas decimais/);
    expect(cents('12a')).toMatch(/não é um número/);
    expect(cents('')).toBe('valor é obrigatório');
  });

  it('dates: YYYY-MM-DD or DD/MM/YYYY, real, not prescribed', () => {
    const due = (due_date: string) => {
      const result = rules.checkCells({ ...good, due_date });
      return result.ok ? result.row.due_date : result.errors[0]!.message;
    };
    expect(due('29/02/2024')).toBe('2024-02-29');
    expect(due('2024-02-29')).toBe('2024-02-29');
    expect(due('29/02/2025')).toBe('data inválida: 29/02/2025 não existe');
    expect(due('31/04/2025')).toBe('data inválida: 31/04/2025 não existe');
    expect(due('2026-13-01')).toBe('data inválida: 2026-13-01 não existe');
    expect(due('00/01/2025')).toBe('data inválida: 00/01/2025 não existe');
    expect(due('1/2/2025')).toBe('data inválida: "1/2/2025" — use DD/MM/AAAA ou AAAA-MM-DD');
    expect(due('01/02/25')).toMatch(/use DD\/MM\/AAAA/);
    expect(due('45678')).toMatch(/use DD\/MM\/AAAA/); // an Excel serial number
    expect(due('01/01/1899')).toMatch(/1900 e 2999/);
    expect(due('')).toBe('vencimento é obrigatório');
    // prescription: due strictly before today − 5 years
    expect(due('15/06/2021')).toBe('2021-06-15');
    expect(due('14/06/2021')).toBe(PRESCRIBED_MESSAGE);
    expect(due('2030-01-01')).toBe('2030-01-01'); // future dates are accepted
  });

  it('prescription cutoff on a 29 February', () => {
    expect(prescriptionCutoff('2028-02-29')).toBe('2023-02-28');
    expect(isPrescribed('2023-02-28', '2028-02-29')).toBe(false);
    expect(isPrescribed('2023-02-27', '2028-02-29')).toBe(true);
    expect(createDebtRules('2028-02-29').cutoff).toBe('2023-02-28');
  });

  it('e-mail and phone are optional; when present they must be valid', () => {
    expect(cellErrors({ email: '', phone: '' })).toEqual([]);
    expect(cellErrors({ email: 'nome.sobrenome+tag@empresa.com.br' })).toEqual([]);
    for (const email of ['joao', 'joao@', '@x.com', 'a b@x.com', 'a@x', `${'a'.repeat(250)}@x.com`]) {
      expect(cellErrors({ email })).toHaveLength(1);
    }
    for (const phone of ['(11) 98765-4321', '11987654321', '+55 11 98765-4321', '5511987654321', '(11) 3456-7890', '11.3456.7890']) {
      expect(cellErrors({ phone })).toEqual([]);
    }
    for (const phone of ['12345', '(01) 98765-4321', '(11) 88765-4321', '119876543210', 'ramal 12', '0800 123 4567']) {
      expect(cellErrors({ phone })).toHaveLength(1);
    }
    expect(normalizeBrazilianPhone('+55 (21) 3456-7890')).toBe('2134567890');
  });
});

describe('CSV records (the import\'s path)', () => {
  const index: Record<DebtColumn, number> = { external_id: 0, cpf: 1, name: 2, email: -1, phone: 3, amount: 4, due_date: 5, description: 6 };
  const asCells = (record: string[]): DebtCells => ({
    external_id: record[0],
    cpf: record[1],
    name: record[2],
    phone: record[3],
    amount: record[4],
    due_date: record[5],
    description: record[6],
  });

  it('checkRecord gives what checkCells gives, without the wrapper', () => {
    const records = [
      ['X-1', '529.982.247-25', 'Ana', '(11) 98765-4321', '1.234,56', '31/01/2025', 'desc'],
      [' X-2 ', CPF, ' Ana  Maria ', '', '10,00', '2025-01-31', ''],
      ['', '123', '', '1', '0', 'ontem', 'x\u0000'],
      ['X-3', CPF, 'Ana'], // shorter than the header
      ['X-4', CPF],
    ];
    for (const record of records) {
      for (const absent of [undefined, 'campo ausente']) {
        const expected = rules.checkCells(asCells(record), absent);
        expect(rules.checkRecord(record, index, absent)).toEqual(expected.ok ? expected.row : expected.errors);
      }
    }
  });
});

describe('the name\'s fast path (a name with nothing to trim, collapse or refuse is taken as it is)', () => {
  // The rule as it was before the fast path, as an oracle.
  // eslint-disable-next-line no-control-regex -- the rule's own pattern
  const CONTROL_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
  function slowName(raw: string): { column: string; message: string }[] | string {
    let value = raw.trim();
    if (value === '') return [{ column: 'name', message: 'nome é obrigatório' }];
    if (CONTROL_BUT_TAB.test(value)) return [{ column: 'name', message: 'nome contém quebra de linha ou caracteres de controle' }];
    if (/\s\s|[^\S ]/.test(value)) value = value.replace(/\s+/g, ' ');
    if ([...value].length > 200) return [{ column: 'name', message: 'nome com mais de 200 caracteres' }];
    return value;
  }
  function name(raw: string): { column: string | null; message: string }[] | string {
    const result = rules.checkCells({ ...good, name: raw });
    return result.ok ? result.row.name : result.errors;
  }

  it('agrees with the slow path for every UTF-16 code unit, first, last, inside, doubled, deep in a long name', () => {
    const long = 'Maria '.repeat(25); // 150 characters
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      for (const raw of [`${c}Ana`, `Ana${c}`, `Ana${c}Maria`, `Ana ${c}Maria`, `Ana${c}${c}Maria`, `${long}${c}Silva`]) {
        const [expected, actual] = [slowName(raw), name(raw)];
        if (JSON.stringify(actual) !== JSON.stringify(expected)) expect({ raw, actual }).toEqual({ raw, expected });
      }
    }
  });

  it('exact messages and values at the edges', () => {
    expect(name('Conceição Simões')).toBe('Conceição Simões');
    expect(name('李小龙')).toBe('李小龙');
    expect(name('  Zoë  Ñandú ')).toBe('Zoë Ñandú');
    expect(name(`${'Maria '.repeat(30)}da\u0007Silva`)).toEqual([{ column: 'name', message: 'nome contém quebra de linha ou caracteres de controle' }]);
    expect(name(`${'Maria '.repeat(30)}da  Silva`)).toBe(`${'Maria '.repeat(30)}da Silva`);
    expect(name(`${'Maria '.repeat(30)}da\u00a0Silva`)).toBe(`${'Maria '.repeat(30)}da Silva`);
    expect(name('ç'.repeat(200))).toBe('ç'.repeat(200));
    expect(name('ç'.repeat(201))).toEqual([{ column: 'name', message: 'nome com mais de 200 caracteres' }]);
    expect(name('🍇'.repeat(200))).toBe('🍇'.repeat(200));
    expect(name('🍇'.repeat(201))).toEqual([{ column: 'name', message: 'nome com mais de 200 caracteres' }]);
    expect(name(`${'a'.repeat(198)}  b`)).toBe(`${'a'.repeat(198)} b`); // 201 characters, 200 once collapsed
  });
});

describe('JSON items (PUT /api/v1/debts)', () => {
  it('takes typed values; paths are the JSON field names', () => {
    expect(rules.checkJson({ ...goodJson, email: 'A@B.COM', phone: null, description: '' })).toEqual({
      ok: true,
      row: { external_id: 'X-1', cpf: CPF, name: 'Ana', email: 'a@b.com', phone: null, amount_cents: 1000, due_date: '2025-01-01', description: null },
    });
    expect(jsonErrors({ ...goodJson, amount_cents: 0 })).toEqual([{ path: 'amount_cents', message: 'valor deve ser positivo' }]);
    expect(jsonErrors({ ...goodJson, amount_cents: -5 })).toEqual([{ path: 'amount_cents', message: 'valor deve ser positivo' }]);
    expect(jsonErrors({ ...goodJson, amount_cents: 10.5 })[0]!.path).toBe('amount_cents');
    expect(jsonErrors({ ...goodJson, amount_cents: '1000' })[0]!.path).toBe('amount_cents');
    expect(jsonErrors({ ...goodJson, amount_cents: 2 ** 53 })).toEqual([{ path: 'amount_cents', message: 'valor grande demais' }]);
    expect(jsonErrors({ ...goodJson, due_date: '01/01/2025' })).toEqual([{ path: 'due_date', message: 'data inválida: "01/01/2025" — use AAAA-MM-DD' }]);
    expect(jsonErrors({ ...goodJson, due_date: '2020-01-01' })).toEqual([{ path: 'due_date', message: PRESCRIBED_MESSAGE }]);
    expect(jsonErrors({ ...goodJson, cpf: 52998224725 })).toEqual([{ path: 'cpf', message: 'cpf deve ser um texto' }]);
    expect(jsonErrors({ ...goodJson, cpf: '529.982.247-25' })).toEqual([]);
  });

  it('missing and unknown fields, and items that are not objects', () => {
    expect(jsonErrors({})).toEqual([
      { path: 'external_id', message: 'external_id é obrigatório' },
      { path: 'cpf', message: 'CPF é obrigatório' },
      { path: 'name', message: 'nome é obrigatório' },
      { path: 'amount_cents', message: 'amount_cents é obrigatório' },
      { path: 'due_date', message: 'vencimento é obrigatório' },
    ]);
    expect(jsonErrors({ ...goodJson, amount: 10 })).toEqual([{ path: 'amount', message: 'campo desconhecido' }]);
    expect(jsonErrors(null)).toEqual([{ path: '', message: 'cada dívida deve ser um objeto JSON' }]);
    expect(jsonErrors([goodJson])).toEqual([{ path: '', message: 'cada dívida deve ser um objeto JSON' }]);
  });

  it('the same rules as a CSV row', () => {
    const json = rules.checkJson({ ...goodJson, name: '  Ana   Maria ', phone: '(11) 98765-4321', description: 'a\r\nb' });
    const csv = rules.checkCells({ ...good, name: '  Ana   Maria ', phone: '(11) 98765-4321', description: 'a\r\nb' });
    expect(json).toEqual(csv);
  });

  it('a batch rejects repeated external_ids, pointing at the first item', () => {
    const results = checkJsonBatch([goodJson, { ...goodJson, cpf: 'x' }, { ...goodJson, external_id: ' X-1 ' }, { ...goodJson, external_id: 'X-2' }], TODAY);
    expect(results.map((r) => (r.ok ? 'ok' : r.errors.map((e) => `${e.path}: ${e.message}`)))).toEqual([
      'ok',
      ['external_id: external_id repetido: já aparece em debts.0', 'cpf: CPF inválido: formato não reconhecido'],
      ['external_id: external_id repetido: já aparece em debts.0'],
      'ok',
    ]);
  });
});

describe('fast paths agree with src/lib', () => {
  const formatted = (d: string) => `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
  const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

  it('fastCpf ≡ parseCpf', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          digits(11, 11),
          digits(9, 12),
          fc.integer({ min: 0, max: 999_999_999 }).map((n) => cpfFrom(String(n).padStart(9, '0'))),
          fc.oneof(digits(11, 11), fc.integer({ min: 0, max: 999_999_999 }).map((n) => cpfFrom(String(n).padStart(9, '0')))).map(formatted),
          fc.string({ maxLength: 14 }),
        ),
        (text) => {
          const fast = fastCpf(text);
          const slow = parseCpf(text);
          if (fast === undefined) return; // another shape: parseCpf decides
          expect(fast).toBe(slow.ok ? slow.value : null);
        },
      ),
      { numRuns: 5000 },
    );
    for (const d of '0123456789') expect(fastCpf(d.repeat(11))).toBeNull();
    for (const d of '0123456789') expect(fastCpf(formatted(d.repeat(11)))).toBeNull();
    expect(fastCpf('529.982.247-25')).toBe('52998224725');
    expect(fastCpf('529.982.247-24')).toBeNull();
    expect(fastCpf('529.982.247 25')).toBeUndefined();
  });

  it('fastReais ≡ parseReais', () => {
    const amount = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 99_999_999_999 }), fc.integer({ min: 0, max: 99 }), fc.boolean()).map(([i, f, group]) => {
        const integer = group ? String(i).replace(/\B(?=(\d{3})+(?!\d))/g, '.') : String(i);
        return `${integer},${String(f).padStart(2, '0')}`;
      }),
      fc.string({ unit: fc.constantFrom(...'0123456789.,- '), maxLength: 16 }),
    );
    fc.assert(
      fc.property(amount, (text) => {
        const fast = fastReais(text);
        const slow = parseReais(text);
        if (fast === -1) return;
        expect(slow).toEqual({ ok: true, cents: fast });
      }),
      { numRuns: 5000 },
    );
    expect(fastReais('1.234,56')).toBe(123_456);
    expect(fastReais('1234,56')).toBe(123_456);
    expect(fastReais('12.34,56')).toBe(-1);
    expect(fastReais('0,00')).toBe(-1);
  });

  it('fastPhone ≡ normalizeBrazilianPhone', () => {
    const phone = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789 ().+-'), maxLength: 20 }),
      fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 9, maxLength: 14 }),
      fc.tuple(fc.constantFrom('', '+55 ', '55', '+55', '55 '), digits(2, 2), fc.constantFrom('', '9'), digits(4, 4), digits(4, 4), fc.constantFrom(' ', '-', '.', ''))
        .map(([country, ddd, nine, a, b, sep]) => `${country}(${ddd}) ${nine}${a}${sep}${b}`),
      fc.string({ unit: fc.constantFrom(...'0123456789 ()+-\t\u00a0x'), maxLength: 20 }),
    );
    fc.assert(
      fc.property(phone, (text) => {
        const fast = fastPhone(text);
        if (fast === undefined) return; // another character: normalizeBrazilianPhone decides
        expect(fast).toBe(normalizeBrazilianPhone(text));
      }),
      { numRuns: 20_000 },
    );
    expect(fastPhone('(11) 98765-4321')).toBe('11987654321');
    expect(fastPhone('+55 (21) 3456-7890')).toBe('2134567890');
    expect(fastPhone('5511987654321')).toBe('11987654321');
    expect(fastPhone('551187654321')).toBe('1187654321');
    expect(fastPhone('55 55 98765-4321')).toBe('55987654321');
    expect(fastPhone('(11) 88765-4321')).toBeNull(); // 11 digits: a mobile, 9 after the DDD
    expect(fastPhone('(01) 98765-4321')).toBeNull();
    expect(fastPhone('(10) 98765-4321')).toBeNull();
    expect(fastPhone('55119876543210')).toBeNull();
    expect(fastPhone('()-')).toBeNull();
    expect(fastPhone('(11)\t98765-4321')).toBeUndefined();
    expect(fastPhone('(11)\u00a098765-4321')).toBeUndefined();
    expect(fastPhone('ramal 12')).toBeUndefined();
  });

  it('parseDueDate ≡ parseSpreadsheetDate / parseIsoDate', () => {
    const shaped = fc.oneof(
      fc.tuple(digits(4, 4), digits(2, 2), digits(2, 2)).map(([y, m, d]) => `${y}-${m}-${d}`),
      fc.tuple(digits(2, 2), digits(2, 2), digits(4, 4)).map(([d, m, y]) => `${d}/${m}/${y}`),
      fc.date({ min: new Date('1890-01-01'), max: new Date('3010-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(shaped, (text) => {
        const mine = parseDueDate(text);
        expect(mine.length === 10 ? mine : null).toBe(parseSpreadsheetDate(text));
        const iso = parseDueDate(text, true);
        expect(iso.length === 10 ? iso : null).toBe(parseIsoDate(text));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('headers', () => {
  it('normalises case, accents, spaces, `_` and `-`', () => {
    expect(normalizeHeader(' Data_Vencimento ')).toBe('datavencimento');
    expect(normalizeHeader('E-MAIL')).toBe('email');
    expect(normalizeHeader('Descrição')).toBe('descricao');
    expect(normalizeHeader('\ufeffCódigo')).toBe('codigo');
    expect(normalizeHeader(' "CPF" ')).toBe('cpf');
    const cases: Array<[string, string | null]> = [
      ['External ID', 'external_id'],
      ['ID_EXTERNO', 'external_id'],
      ['Código', 'external_id'],
      ['Contrato', 'external_id'],
      ['CPF', 'cpf'],
      ['Nome', 'name'],
      ['e_mail', 'email'],
      ['Celular', 'phone'],
      ['Telefone', 'phone'],
      ['VALOR', 'amount'],
      ['due-date', 'due_date'],
      ['Vencimento', 'due_date'],
      ['data de vencimento', null],
      ['Descricao', 'description'],
      ['Observação', null],
    ];
    for (const [cell, column] of cases) expect(columnForHeader(cell)).toBe(column);
  });

  it('detects the delimiter from the header line', () => {
    expect(detectDelimiter('external_id;cpf;nome;valor;vencimento')).toBe(';');
    expect(detectDelimiter('external_id,cpf,nome,valor,vencimento')).toBe(',');
    expect(detectDelimiter('"Nome, completo";CPF;valor')).toBe(';');
    expect(detectDelimiter('"a;b",cpf,nome')).toBe(',');
    expect(detectDelimiter('x;y,z')).toBe(';'); // no known column, tie: `;`
    expect(detectDelimiter('x,y,z;w')).toBe(','); // no known column: the more frequent
  });
});
