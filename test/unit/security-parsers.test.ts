// The parsers every CSV cell and API field goes through, fuzzed for what the other unit
// tests do not state: whatever they accept is canonical garbage-free input, and the value
// they give round-trips (its canonical form parses back to itself). documents.test.ts,
// money.test.ts and dates.test.ts already check that they never throw and agree with
// references on well-formed input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDateBR, parseIsoDate, parseSpreadsheetDate } from '../../src/lib/dates.js';
import { formatCnpj, formatCpf, parseCnpj, parseCpf, parseTaxDocument } from '../../src/lib/documents.js';
import { formatBRL, parseReais } from '../../src/lib/money.js';

const NBSP = '\u00a0';
/** Strings near the accepted shapes (where bugs hide), and anything at all. */
const nearly = (alphabet: string, maxLength: number) =>
  fc.oneof(
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.tuple(fc.string({ unit: fc.constantFrom(...alphabet), maxLength }), fc.constantFrom(' ', '\t', '\n', NBSP, '\u2007', '\u202f', '\u0000', '\u202e', '\u200b', '٣', '０', '¹'), fc.nat(maxLength)).map(
      ([s, odd, at]) => s.slice(0, at) + odd + s.slice(at),
    ),
  );
const RUNS = { numRuns: 4000 };

describe('parseCpf', () => {
  it('accepts only 11 digits, bare or formatted, and the digits round-trip', () => {
    fc.assert(
      fc.property(nearly('0123456789.-', 16), (input) => {
        const r = parseCpf(input);
        if (!r.ok) return;
        expect(r.value).toMatch(/^\d{11}$/);
        expect(input.trim()).toMatch(/^(\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$/);
        expect(input.trim().replace(/[.-]/g, '')).toBe(r.value);
        expect(parseCpf(r.value)).toEqual(r);
        expect(parseCpf(formatCpf(r.value))).toEqual(r);
        expect(parseTaxDocument(r.value)).toEqual({ ok: true, kind: 'cpf', value: r.value });
      }),
      RUNS,
    );
  });
});

describe('parseCnpj', () => {
  it('accepts only 14 characters (12 of 0-9A-Z and 2 check digits), bare or formatted, and they round-trip', () => {
    fc.assert(
      fc.property(nearly('0123456789ABCDEFabcdef./-', 20), (input) => {
        const r = parseCnpj(input);
        if (!r.ok) return;
        expect(r.value).toMatch(/^[0-9A-Z]{12}\d{2}$/);
        expect(input.trim().toUpperCase()).toMatch(/^([0-9A-Z]{12}\d{2}|[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}\/[0-9A-Z]{4}-\d{2})$/);
        expect(input.trim().toUpperCase().replace(/[./-]/g, '')).toBe(r.value);
        expect(parseCnpj(r.value)).toEqual(r);
        expect(parseCnpj(formatCnpj(r.value))).toEqual(r);
        expect(parseCnpj(formatCnpj(r.value).toLowerCase())).toEqual(r);
      }),
      RUNS,
    );
  });
});

describe('parseReais', () => {
  /** The written forms the contract lists (§5), with an optional `R$` and spaces around. */
  const CANONICAL = /^(R\$[\s]*)?(\d+|\d{1,3}(\.\d{3})+),\d{1,2}$|^(R\$[\s]*)?\d+(\.\d{1,2})?$/i;

  it('accepts only the listed forms, and the centavos round-trip through every canonical writing', () => {
    fc.assert(
      fc.property(nearly('0123456789.,R$ -', 18), (input) => {
        const r = parseReais(input);
        if (!r.ok) return;
        expect(Number.isSafeInteger(r.cents) && r.cents > 0).toBe(true);
        expect(input.trim(), `accepted ${JSON.stringify(input)} as ${r.cents}`).toMatch(CANONICAL);
        const reais = Math.floor(r.cents / 100);
        const centavos = String(r.cents % 100).padStart(2, '0');
        for (const written of [formatBRL(r.cents), `${reais},${centavos}`, `${reais}.${centavos}`, formatBRL(r.cents).slice(3)]) {
          expect(parseReais(written), written).toEqual(r);
        }
      }),
      RUNS,
    );
  });

  it('never reads two numbers as one', () => {
    for (const input of ['12 34', '10 20,00', '1 2', '1\t234,56', '1\n234', `10${NBSP}20`, '1 234,56']) {
      expect(parseReais(input).ok, input).toBe(false);
    }
  });
});

describe('parseSpreadsheetDate', () => {
  it('accepts only YYYY-MM-DD or DD/MM/YYYY of a real date, and the date round-trips', () => {
    fc.assert(
      fc.property(nearly('0123456789-/', 12), (input) => {
        const r = parseSpreadsheetDate(input);
        if (r === null) return;
        expect(r).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect([r, formatDateBR(r)]).toContain(input.trim());
        expect(parseIsoDate(r)).toBe(r);
        expect(parseSpreadsheetDate(r)).toBe(r);
        expect(parseSpreadsheetDate(formatDateBR(r))).toBe(r);
      }),
      RUNS,
    );
  });
});
