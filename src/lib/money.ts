// Money is integer centavos. Rounding is half away from zero on exact rationals.

/** round(numerator / denominator), half away from zero, exactly. */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  const q = (abs * 2n + denominator) / (denominator * 2n);
  return negative ? -q : q;
}

/** A percentage with at most two decimals, as hundredths of a percent (1.5 → 150n). */
export function pctToBasisHundredths(pct: number): bigint {
  const scaled = Math.round(pct * 100);
  if (Math.abs(pct * 100 - scaled) > 1e-6) throw new RangeError(`percentage ${pct} has more than two decimals`);
  return BigInt(scaled);
}

/** round(cents × pct / 100), half away from zero, exact. */
export function percentOf(cents: bigint, pct: number): bigint {
  return divRound(cents * pctToBasisHundredths(pct), 10_000n);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}

/** `R$ 1.234,56` (with a no-break space), `-R$ 0,50` for negatives. */
export function formatBRL(cents: number | bigint): string {
  const value = BigInt(cents);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const reais = groupThousands((abs / 100n).toString());
  const centavos = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}R$\u00a0${reais},${centavos}`;
}

export type AmountParse = { ok: true; cents: number } | { ok: false; message: string };

const MAX_CENTS = Number.MAX_SAFE_INTEGER;

/**
 * A positive amount in reais as a Brazilian spreadsheet writes it: `1234.56`, `1234,56`,
 * `1.234,56`, `R$ 1.234,56`. With a comma, the comma is the decimal mark and dots group
 * thousands; `1.234` alone is ambiguous and refused.
 */
export function parseReais(input: string): AmountParse {
  // Spaces only around the number and after R$: inside it they would join two numbers
  // into one ("10 20" is not R$ 1.020,00).
  let text = input.trim().replace(/^R\$\s*/i, '');
  if (text === '') return { ok: false, message: 'valor é obrigatório' };
  let negative = false;
  if (text.startsWith('-')) {
    negative = true;
    text = text.slice(1);
  }
  let integer: string;
  let fraction: string;
  if (text.includes(',')) {
    const match = /^(\d{1,3}(?:\.\d{3})+|\d+),(\d+)$/.exec(text);
    if (!match) return { ok: false, message: `valor "${input.trim()}" não é um número: use 1234,56 ou 1.234,56` };
    integer = match[1]!.replace(/\./g, '');
    fraction = match[2]!;
  } else if (/^\d+\.\d{3}$/.test(text)) {
    return { ok: false, message: `valor "${input.trim()}" é ambíguo: para milhares escreva 1.234,00 ou 1234,00; para centavos use vírgula (1,23)` };
  } else {
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
    if (!match) return { ok: false, message: `valor "${input.trim()}" não é um número: use 1234,56 ou 1.234,56` };
    integer = match[1]!;
    fraction = match[2] ?? '';
  }
  if (fraction.length > 2) return { ok: false, message: `valor "${input.trim()}" tem mais de duas casas decimais` };
  const cents = BigInt(integer) * 100n + BigInt(fraction.padEnd(2, '0') || '0');
  if (negative || cents === 0n) return { ok: false, message: 'valor deve ser positivo' };
  if (cents > BigInt(MAX_CENTS)) return { ok: false, message: 'valor grande demais' };
  return { ok: true, cents: Number(cents) };
}
