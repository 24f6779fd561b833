import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { divRound, formatBRL, parseReais, pctToBasisHundredths, percentOf } from '../../src/lib/money.js';

/** Reference rounding by quotient and remainder: bump the truncated quotient when |2r| ≥ |d|. */
function referenceDivRound(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  if (2n * abs(r) < abs(d)) return q;
  return (n < 0n) === (d < 0n) ? q + 1n : q - 1n;
}

const NBSP = '\u00a0';

describe('divRound', () => {
  it('rounds half away from zero on exact values', () => {
    const cases: Array<[bigint, bigint, bigint]> = [
      [0n, 7n, 0n],
      [10n, 5n, 2n],
      [1n, 3n, 0n],
      [2n, 3n, 1n],
      [1n, 2n, 1n],
      [3n, 2n, 2n],
      [5n, 2n, 3n],
      [-1n, 2n, -1n],
      [-3n, 2n, -2n],
      [-5n, 2n, -3n],
      [5n, -2n, -3n],
      [-5n, -2n, 3n],
      [-1n, 3n, 0n],
      [-2n, 3n, -1n],
      [149n, 100n, 1n],
      [150n, 100n, 2n],
      [-150n, 100n, -2n],
      [-149n, 100n, -1n],
      [12_345n * 250n, 10_000n, 309n], // 308.625
      [1_005n, 10n, 101n], // 100.5, where 100.5 as a float would round fine but 1.005 × 100 does not
      [4_999_999n, 10_000_000n, 0n],
      [5_000_000n, 10_000_000n, 1n],
      [-5_000_000n, 10_000_000n, -1n],
    ];
    for (const [n, d, expected] of cases) expect(divRound(n, d), `${n}/${d}`).toBe(expected);
  });

  it('stays exact far beyond 2^53', () => {
    const big = 10n ** 40n;
    expect(divRound(big * 10n + 5n, 10n)).toBe(big + 1n);
    expect(divRound(big * 10n + 4n, 10n)).toBe(big);
    expect(divRound(-(big * 10n + 5n), 10n)).toBe(-(big + 1n));
    expect(divRound(2n ** 200n + 1n, 2n)).toBe(2n ** 199n + 1n);
    expect(divRound(2n ** 200n - 1n, 2n)).toBe(2n ** 199n);
    expect(divRound(BigInt(Number.MAX_SAFE_INTEGER) * 3n, 2n)).toBe((BigInt(Number.MAX_SAFE_INTEGER) * 3n) / 2n + 1n); // …x.5
  });

  it('refuses division by zero', () => {
    expect(() => divRound(1n, 0n)).toThrow(RangeError);
  });

  it('agrees with the quotient-and-remainder reference', () => {
    const nonZero = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).filter((d) => d !== 0n);
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), nonZero, (n, d) => {
        expect(divRound(n, d)).toBe(referenceDivRound(n, d));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -10_000n, max: 10_000n }), fc.bigInt({ min: 1n, max: 200n }), (n, d) => {
        expect(divRound(n, d)).toBe(referenceDivRound(n, d));
        expect(divRound(n, -d)).toBe(-referenceDivRound(n, d));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('percentOf', () => {
  it('rounds cents × pct / 100 half away from zero', () => {
    expect(percentOf(10_000n, 2)).toBe(200n);
    expect(percentOf(1_000n, 2.5)).toBe(25n);
    expect(percentOf(1n, 50)).toBe(1n); // 0.5
    expect(percentOf(-1n, 50)).toBe(-1n);
    expect(percentOf(3n, 50)).toBe(2n); // 1.5
    expect(percentOf(12_345n, 2.5)).toBe(309n); // 308.625
    expect(percentOf(333n, 33.33)).toBe(111n); // 110.9889
    expect(percentOf(150n, 1)).toBe(2n); // 1.5
    expect(percentOf(149n, 1)).toBe(1n);
    expect(percentOf(0n, 99.99)).toBe(0n);
    expect(percentOf(123_456n, 0)).toBe(0n);
    expect(percentOf(123_456n, 100)).toBe(123_456n);
  });

  it('is exact for percentages whose binary floating-point value is off (0.07, 0.29, 1.15, 4.35)', () => {
    expect(pctToBasisHundredths(0.07)).toBe(7n);
    expect(pctToBasisHundredths(0.29)).toBe(29n);
    expect(pctToBasisHundredths(1.15)).toBe(115n);
    expect(pctToBasisHundredths(4.35)).toBe(435n);
    expect(percentOf(50n, 1.15)).toBe(1n); // 0.575 → 1
    expect(percentOf(200n, 1.15)).toBe(2n); // 2.3
    // 1.15 % of 100 000 is exactly 1 150; as floats 100000 * 1.15 / 100 = 1149.9999999999998.
    expect(percentOf(100_000n, 1.15)).toBe(1_150n);
  });

  it('matches integer hundredths of a percent for every two-decimal percentage', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), (cents, hundredths) => {
        const pct = hundredths / 100;
        expect(percentOf(cents, pct)).toBe(referenceDivRound(cents * BigInt(hundredths), 10_000n));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a percentage with more than two decimals', () => {
    expect(() => percentOf(1_000n, 1.005)).toThrow(RangeError);
    expect(() => percentOf(1_000n, 2.675)).toThrow(RangeError);
    expect(() => percentOf(1_000n, 0.001)).toThrow(RangeError);
    expect(() => percentOf(1_000n, Number.NaN)).toThrow(RangeError);
    expect(() => percentOf(1_000n, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('formatBRL', () => {
  it('writes R$ with a no-break space, dots for thousands and a decimal comma', () => {
    expect(formatBRL(123_456)).toBe(`R$${NBSP}1.234,56`);
    expect(formatBRL(0)).toBe(`R$${NBSP}0,00`);
    expect(formatBRL(5)).toBe(`R$${NBSP}0,05`);
    expect(formatBRL(50)).toBe(`R$${NBSP}0,50`);
    expect(formatBRL(100)).toBe(`R$${NBSP}1,00`);
    expect(formatBRL(99_999)).toBe(`R$${NBSP}999,99`);
    expect(formatBRL(100_000)).toBe(`R$${NBSP}1.000,00`);
    expect(formatBRL(100_000_000)).toBe(`R$${NBSP}1.000.000,00`);
    expect(formatBRL(123_456_789_012)).toBe(`R$${NBSP}1.234.567.890,12`);
    expect(formatBRL(Number.MAX_SAFE_INTEGER)).toBe(`R$${NBSP}90.071.992.547.409,91`);
    expect(formatBRL(10n ** 20n + 1n)).toBe(`R$${NBSP}1.000.000.000.000.000.000,01`);
  });

  it('puts the minus sign before R$', () => {
    expect(formatBRL(-50)).toBe(`-R$${NBSP}0,50`);
    expect(formatBRL(-123_456)).toBe(`-R$${NBSP}1.234,56`);
    expect(formatBRL(-100_000_000n)).toBe(`-R$${NBSP}1.000.000,00`);
    expect(formatBRL(-0)).toBe(`R$${NBSP}0,00`);
  });

  it('agrees with Intl pt-BR currency formatting', () => {
    const intl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 17n), max: 10n ** 17n }), (cents) => {
        const abs = cents < 0n ? -cents : cents;
        const decimal = `${cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
        expect(formatBRL(cents)).toBe(intl.format(decimal as unknown as number));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a fractional number of centavos instead of printing it wrong', () => {
    expect(() => formatBRL(1.5)).toThrow(RangeError);
  });
});

describe('parseReais (CONTRACT §5 amounts)', () => {
  const accepted: Array<[string, number]> = [
    ['1234.56', 123_456],
    ['1234,56', 123_456],
    ['1.234,56', 123_456],
    ['R$ 1.234,56', 123_456],
    [`R$${NBSP}1.234,56`, 123_456],
    ['R$1.234,56', 123_456],
    ['r$ 1.234,56', 123_456],
    ['  1234,56  ', 123_456],
    ['1234', 123_400],
    ['1234.5', 123_450],
    ['1234,5', 123_450],
    ['0,01', 1],
    ['0.01', 1],
    ['0,5', 50],
    ['1', 100],
    ['12.34', 1_234],
    ['1.234.567,89', 123_456_789],
    ['1234567,89', 123_456_789],
    ['999.999,99', 99_999_999],
    ['90.071.992.547.409,91', Number.MAX_SAFE_INTEGER],
  ];
  it.each(accepted)('accepts %j as %i centavos', (input, cents) => {
    expect(parseReais(input)).toEqual({ ok: true, cents });
  });

  const refused: Array<[string, RegExp]> = [
    ['1.234', /ambíguo/],
    ['12.345', /ambíguo/],
    ['R$ 1.234', /ambíguo/],
    ['1.234,567', /mais de duas casas decimais/],
    ['1234,567', /mais de duas casas decimais/],
    ['0,001', /mais de duas casas decimais/],
    ['0', /positivo/],
    ['0,00', /positivo/],
    ['0.00', /positivo/],
    ['R$ 0,00', /positivo/],
    ['-1', /positivo/],
    ['-1.234,56', /positivo/],
    ['R$ -10,00', /positivo/],
    ['', /obrigatório/],
    ['   ', /obrigatório/],
    ['R$', /obrigatório/],
    ['abc', /não é um número/],
    ['12a', /não é um número/],
    ['1,234.56', /não é um número/],
    ['12.34,56', /não é um número/],
    ['1.23,45', /não é um número/],
    ['1,2,3', /não é um número/],
    [',50', /não é um número/],
    ['1,', /não é um número/],
    ['1.', /não é um número/],
    ['1e3', /não é um número/],
    ['0x10', /não é um número/],
    ['+5', /não é um número/],
    ['NaN', /não é um número/],
    ['Infinity', /não é um número/],
    ['US$ 10,00', /não é um número/],
    ['١٢٣', /não é um número/],
    ['90.071.992.547.409,92', /grande demais/],
    ['99999999999999999999', /grande demais/],
  ];
  it.each(refused)('refuses %j', (input, message) => {
    const parsed = parseReais(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it('reads back whatever formatBRL writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (cents) => {
        expect(parseReais(formatBRL(cents))).toEqual({ ok: true, cents });
        expect(parseReais(formatBRL(cents).replace(NBSP, ' '))).toEqual({ ok: true, cents });
        expect(parseReais(formatBRL(cents).slice(3))).toEqual({ ok: true, cents });
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (cents) => {
        expect(parseReais(formatBRL(cents))).toEqual({ ok: true, cents });
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the plain dot and comma forms of any amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: BigInt(Number.MAX_SAFE_INTEGER) }), (cents) => {
        const reais = cents / 100n;
        const centavos = String(cents % 100n).padStart(2, '0');
        expect(parseReais(`${reais}.${centavos}`)).toEqual({ ok: true, cents: Number(cents) });
        expect(parseReais(`${reais},${centavos}`)).toEqual({ ok: true, cents: Number(cents) });
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and never answers a non-positive or unsafe amount', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.stringMatching(/^(R\$ ?)?-?[\d.,]{0,24}$/)), (s) => {
        const parsed = parseReais(s);
        if (parsed.ok) {
          expect(Number.isSafeInteger(parsed.cents)).toBe(true);
          expect(parsed.cents).toBeGreaterThan(0);
        } else {
          expect(parsed.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
