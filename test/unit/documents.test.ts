// CPF and CNPJ against check digits computed here independently (the "10 → 0" form of
// the CPF rule and right-to-left 2…9 weights for the CNPJ), so a shared mistake cannot hide.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  documentProblemMessage,
  formatCnpj,
  formatCpf,
  formatTaxDocument,
  isValidCnpj,
  isValidCpf,
  maskCpf,
  parseCnpj,
  parseCpf,
  parseTaxDocument,
} from '../../src/lib/documents.js';

/** CPF check digit: Σ digit × weight (weights descending to 2), × 10 mod 11, 10 → 0. */
function cpfDigit(digits: string): number {
  const n = digits.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Number(digits[i]) * (n + 1 - i);
  const r = (sum * 10) % 11;
  return r === 10 ? 0 : r;
}

function cpfFrom(nine: string): string {
  const ten = nine + cpfDigit(nine);
  return ten + cpfDigit(ten);
}

/** CNPJ check digit: characters worth (ASCII − 48), weights 2…9 repeating from the right. */
function cnpjDigit(chars: string): number {
  let sum = 0;
  let weight = 2;
  for (let i = chars.length - 1; i >= 0; i--) {
    sum += (chars.charCodeAt(i) - 48) * weight;
    weight = weight === 9 ? 2 : weight + 1;
  }
  const r = sum % 11;
  return r < 2 ? 0 : 11 - r;
}

function cnpjFrom(twelve: string): string {
  const thirteen = twelve + cnpjDigit(twelve);
  return thirteen + cnpjDigit(thirteen);
}

const fmtCpf = (d: string) => `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
const fmtCnpj = (b: string) => `${b.slice(0, 2)}.${b.slice(2, 5)}.${b.slice(5, 8)}/${b.slice(8, 12)}-${b.slice(12)}`;

const digit = fc.integer({ min: 0, max: 9 }).map(String);
const nineDigits = fc.array(digit, { minLength: 9, maxLength: 9 }).map((a) => a.join(''));
const validCpf = nineDigits.map(cpfFrom).filter((d) => !/^(\d)\1{10}$/.test(d));
const cnpjChar = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ');
const validCnpj = fc
  .array(cnpjChar, { minLength: 12, maxLength: 12 })
  .map((a) => cnpjFrom(a.join('')))
  .filter((b) => !/^(.)\1{13}$/.test(b));

// Published examples (Receita Federal manuals, textbook examples, large public companies).
const KNOWN_CPFS = ['529.982.247-25', '111.444.777-35', '123.456.789-09', '935.411.347-80'];
const KNOWN_CNPJS = [
  '11.222.333/0001-81',
  '11.444.777/0001-61',
  '33.000.167/0001-01', // Petrobras
  '00.000.000/0001-91', // Banco do Brasil
  '00.360.305/0001-04', // Caixa
  '60.701.190/0001-04', // Itaú Unibanco
  '12.ABC.345/01DE-35', // Receita Federal's alphanumeric example (2026 rule)
];

describe('CPF', () => {
  it('the independent reference agrees with the published examples', () => {
    for (const cpf of KNOWN_CPFS) {
      const d = cpf.replace(/\D/g, '');
      expect(cpfFrom(d.slice(0, 9))).toBe(d);
    }
  });

  it('accepts published CPFs formatted and bare, answering 11 digits', () => {
    for (const cpf of KNOWN_CPFS) {
      const digits = cpf.replace(/\D/g, '');
      expect(parseCpf(cpf)).toEqual({ ok: true, value: digits });
      expect(parseCpf(digits)).toEqual({ ok: true, value: digits });
      expect(isValidCpf(cpf)).toBe(true);
    }
  });

  it('accepts many generated valid CPFs, formatted and bare', () => {
    fc.assert(
      fc.property(validCpf, (d) => {
        expect(parseCpf(d)).toEqual({ ok: true, value: d });
        expect(parseCpf(fmtCpf(d))).toEqual({ ok: true, value: d });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses every wrong value of either check digit', () => {
    for (const cpf of KNOWN_CPFS) {
      const d = cpf.replace(/\D/g, '');
      for (const position of [9, 10]) {
        for (let v = 0; v <= 9; v++) {
          if (String(v) === d[position]) continue;
          const wrong = d.slice(0, position) + v + d.slice(position + 1);
          expect(parseCpf(wrong), wrong).toEqual({ ok: false, problem: 'check_digit' });
          expect(parseCpf(fmtCpf(wrong)), wrong).toEqual({ ok: false, problem: 'check_digit' });
        }
      }
    }
  });

  it('refuses the eleven-equal-digit numbers, even those whose check digits add up', () => {
    for (let v = 0; v <= 9; v++) {
      const d = String(v).repeat(11);
      expect(parseCpf(d)).toEqual({ ok: false, problem: 'repeated' });
      expect(parseCpf(fmtCpf(d))).toEqual({ ok: false, problem: 'repeated' });
    }
    // 111.111.111-11 passes both check digits; only the repetition rule refuses it.
    expect(cpfFrom('111111111')).toBe('11111111111');
  });

  it('refuses wrong lengths, letters, partial formatting and stray characters', () => {
    for (const bad of [
      '',
      '5299822472',
      '529982247255',
      '529.982.247-2',
      '529.982.247-255',
      '529.982.247-2A',
      'ABC.DEF.GHI-JK',
      '5299822472a',
      '529 982 247 25',
      '529982247-25',
      '529.982.24725',
      '529-982-247.25',
      '529.982.247-25.',
      '529.982.247/25',
      '+52998224725',
      '52998224725x',
      '٥٢٩٩٨٢٢٤٧٢٥', // Arabic-Indic digits
      '５２９９８２２４７２５', // full-width digits
    ]) {
      expect(parseCpf(bad), bad).toEqual({ ok: false, problem: 'format' });
      expect(isValidCpf(bad), bad).toBe(false);
    }
  });

  it('ignores surrounding whitespace only', () => {
    expect(parseCpf('  529.982.247-25\n')).toEqual({ ok: true, value: '52998224725' });
    expect(parseCpf('\t52998224725 ')).toEqual({ ok: true, value: '52998224725' });
  });

  it('a changed check digit is always caught', () => {
    fc.assert(
      fc.property(validCpf, fc.constantFrom(9, 10), fc.integer({ min: 1, max: 9 }), (d, position, delta) => {
        const changed = d.slice(0, position) + ((Number(d[position]) + delta) % 10) + d.slice(position + 1);
        expect(isValidCpf(changed)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('flipping any single digit of a valid CPF makes it invalid when its first check digit is not 0', () => {
    // The official rule maps remainders 0 and 1 to the same digit 0 (and the second digit's
    // weight for the first position is 11 ≡ 0), so a CPF whose first check digit is 0 can
    // hide a one-digit change (see the next test); every other CPF detects all of them.
    const firstCheckNotZero = validCpf.filter((d) => d[9] !== '0');
    fc.assert(
      fc.property(firstCheckNotZero, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 9 }), (d, position, delta) => {
        const changed = d.slice(0, position) + ((Number(d[position]) + delta) % 10) + d.slice(position + 1);
        expect(isValidCpf(changed)).toBe(false);
        expect(isValidCpf(fmtCpf(changed))).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the reference on every one-digit change of any valid CPF', () => {
    fc.assert(
      fc.property(validCpf, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 9 }), (d, position, delta) => {
        const changed = d.slice(0, position) + ((Number(d[position]) + delta) % 10) + d.slice(position + 1);
        const reference = cpfFrom(changed.slice(0, 9)) === changed && !/^(\d)\1{10}$/.test(changed);
        expect(isValidCpf(changed)).toBe(reference);
      }),
      { numRuns: 5000 },
    );
    // Real pairs one digit apart that the official check digits cannot tell apart.
    expect(isValidCpf('000.000.336-00')).toBe(true);
    expect(isValidCpf('000.009.336-00')).toBe(true);
    expect(isValidCpf('170.690.021-06')).toBe(true);
    expect(isValidCpf('270.690.021-06')).toBe(true);
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const r = parseCpf(s);
        expect(typeof r.ok).toBe('boolean');
        expect(typeof isValidCpf(s)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[\d.\- ]{0,16}$/), (s) => {
        parseCpf(s);
        parseTaxDocument(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('formats and masks', () => {
    expect(formatCpf('52998224725')).toBe('529.982.247-25');
    expect(formatTaxDocument('12345678909')).toBe('123.456.789-09');
    expect(maskCpf('12345678909')).toBe('***.456.789-**');
    expect(maskCpf('52998224725')).toBe('***.982.247-**');
    fc.assert(
      fc.property(validCpf, (d) => {
        expect(parseCpf(formatCpf(d))).toEqual({ ok: true, value: d });
        const masked = maskCpf(d);
        expect(masked).toMatch(/^\*\*\*\.\d{3}\.\d{3}-\*\*$/);
        expect(masked).toBe(`***.${d.slice(3, 6)}.${d.slice(6, 9)}-**`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('CNPJ', () => {
  it('the independent reference agrees with the published examples', () => {
    for (const cnpj of KNOWN_CNPJS) {
      const bare = cnpj.replace(/[./-]/g, '');
      expect(cnpjFrom(bare.slice(0, 12))).toBe(bare);
    }
  });

  it('accepts published CNPJs formatted and bare, numeric and alphanumeric', () => {
    for (const cnpj of KNOWN_CNPJS) {
      const bare = cnpj.replace(/[./-]/g, '');
      expect(parseCnpj(cnpj)).toEqual({ ok: true, value: bare });
      expect(parseCnpj(bare)).toEqual({ ok: true, value: bare });
      expect(isValidCnpj(cnpj)).toBe(true);
    }
  });

  it('accepts many generated valid CNPJs, numeric and alphanumeric', () => {
    fc.assert(
      fc.property(validCnpj, (b) => {
        expect(parseCnpj(b)).toEqual({ ok: true, value: b });
        expect(parseCnpj(fmtCnpj(b))).toEqual({ ok: true, value: b });
      }),
      { numRuns: 2000 },
    );
    const numeric = fc.array(digit, { minLength: 12, maxLength: 12 }).map((a) => cnpjFrom(a.join('')));
    fc.assert(
      fc.property(numeric.filter((b) => !/^(.)\1{13}$/.test(b)), (b) => {
        expect(parseCnpj(fmtCnpj(b))).toEqual({ ok: true, value: b });
      }),
      { numRuns: 1000 },
    );
  });

  it('takes lowercase alphanumeric CNPJs as their uppercase form', () => {
    expect(parseCnpj('12abc34501de35')).toEqual({ ok: true, value: '12ABC34501DE35' });
    expect(parseCnpj('12.abc.345/01de-35')).toEqual({ ok: true, value: '12ABC34501DE35' });
    expect(parseCnpj('12.AbC.345/01dE-35')).toEqual({ ok: true, value: '12ABC34501DE35' });
  });

  it('refuses every wrong value of either check digit', () => {
    for (const cnpj of KNOWN_CNPJS) {
      const bare = cnpj.replace(/[./-]/g, '');
      for (const position of [12, 13]) {
        for (let v = 0; v <= 9; v++) {
          if (String(v) === bare[position]) continue;
          const wrong = bare.slice(0, position) + v + bare.slice(position + 1);
          expect(parseCnpj(wrong), wrong).toEqual({ ok: false, problem: 'check_digit' });
        }
      }
    }
  });

  it('refuses a changed base character of an alphanumeric CNPJ', () => {
    // 12.ABC.345/01DE-35 with one letter changed.
    expect(isValidCnpj('12.ABD.345/01DE-35')).toBe(false);
    expect(isValidCnpj('12.ABC.345/01DF-35')).toBe(false);
    expect(isValidCnpj('13.ABC.345/01DE-35')).toBe(false);
  });

  it('refuses repeated characters, wrong lengths, letters in the check digits and stray characters', () => {
    for (let v = 0; v <= 9; v++) expect(parseCnpj(String(v).repeat(14))).toEqual({ ok: false, problem: 'repeated' });
    for (const bad of [
      '',
      '1122233300018',
      '112223330001811',
      '11.222.333/0001-8',
      '12.ABC.345/01DE-3A',
      '12ABC34501DEAB',
      '12.ABC.345/01DE35',
      '11222333/0001-81',
      '11.222.333.0001-81',
      '11 222 333 0001 81',
      '11.222.333/0001-81/',
      '11-222-333/0001-81',
      '12.AB@.345/01DE-35',
      '12.ÁBC.345/01DE-35',
      '529.982.247-25',
    ]) {
      expect(parseCnpj(bad), bad).toEqual({ ok: false, problem: 'format' });
      expect(isValidCnpj(bad), bad).toBe(false);
    }
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(typeof parseCnpj(s).ok).toBe('boolean');
        expect(typeof parseTaxDocument(s).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('formats', () => {
    expect(formatCnpj('11222333000181')).toBe('11.222.333/0001-81');
    expect(formatCnpj('12ABC34501DE35')).toBe('12.ABC.345/01DE-35');
    expect(formatTaxDocument('12ABC34501DE35')).toBe('12.ABC.345/01DE-35');
    fc.assert(
      fc.property(validCnpj, (b) => {
        expect(parseCnpj(formatCnpj(b))).toEqual({ ok: true, value: b });
      }),
      { numRuns: 500 },
    );
  });
});

describe('a creditor document (CPF or CNPJ)', () => {
  it('tells the kinds apart', () => {
    expect(parseTaxDocument('529.982.247-25')).toEqual({ ok: true, kind: 'cpf', value: '52998224725' });
    expect(parseTaxDocument('52998224725')).toEqual({ ok: true, kind: 'cpf', value: '52998224725' });
    expect(parseTaxDocument('11.222.333/0001-81')).toEqual({ ok: true, kind: 'cnpj', value: '11222333000181' });
    expect(parseTaxDocument('12abc34501de35')).toEqual({ ok: true, kind: 'cnpj', value: '12ABC34501DE35' });
  });

  it('reports the problem of the kind the input looks like', () => {
    expect(parseTaxDocument('529.982.247-24')).toEqual({ ok: false, problem: 'check_digit' });
    expect(parseTaxDocument('52998224724')).toEqual({ ok: false, problem: 'check_digit' });
    expect(parseTaxDocument('111.111.111-11')).toEqual({ ok: false, problem: 'repeated' });
    expect(parseTaxDocument('11.222.333/0001-82')).toEqual({ ok: false, problem: 'check_digit' });
    expect(parseTaxDocument('00000000000000')).toEqual({ ok: false, problem: 'repeated' });
    expect(parseTaxDocument('not a document')).toEqual({ ok: false, problem: 'format' });
  });

  it('messages name the problem without echoing the document', () => {
    for (const problem of ['format', 'repeated', 'check_digit'] as const) {
      const message = documentProblemMessage('CPF', problem);
      expect(message).toMatch(/^CPF inválido: /);
      expect(message).not.toMatch(/\d{3}/);
    }
  });
});
