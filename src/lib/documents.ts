// CPF and CNPJ: normalisation, check digits, formatting and masking.
// A CNPJ may be alphanumeric (IN RFB 2.229/2024, from July 2026): the first twelve
// positions take 0-9 or A-Z, each worth its ASCII code minus 48; the two check
// digits stay numeric.

const CPF_FORMATTED = /^\d{3}\.\d{3}\.\d{3}-\d{2}$/;
const CNPJ_BARE = /^[0-9A-Z]{12}\d{2}$/;
const CNPJ_FORMATTED = /^[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}\/[0-9A-Z]{4}-\d{2}$/;

export type DocumentProblem = 'format' | 'repeated' | 'check_digit';

export type DocumentResult =
  | { ok: true; value: string }
  | { ok: false; problem: DocumentProblem };

function mod11Digit(values: number[], weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * weights[i]!;
  const rest = sum % 11;
  return rest < 2 ? 0 : 11 - rest;
}

/** Appends CPF check digits to nine digits (test data, the demo seed, benchmarks). */
export function completeCpf(nine: string): string {
  const digits = [...nine].map(Number);
  for (const len of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += digits[i]! * (len + 1 - i);
    const rest = sum % 11;
    digits.push(rest < 2 ? 0 : 11 - rest);
  }
  return digits.join('');
}

/** Accepts `123.456.789-09` or 11 digits; returns the 11 digits. */
export function parseCpf(input: string): DocumentResult {
  const trimmed = input.trim();
  let digits: string;
  if (/^\d{11}$/.test(trimmed)) digits = trimmed;
  else if (CPF_FORMATTED.test(trimmed)) digits = trimmed.replace(/[.-]/g, '');
  else return { ok: false, problem: 'format' };
  if (/^(\d)\1{10}$/.test(digits)) return { ok: false, problem: 'repeated' };
  const values = [...digits].map(Number);
  const d1 = mod11Digit(values.slice(0, 9), [10, 9, 8, 7, 6, 5, 4, 3, 2]);
  const d2 = mod11Digit(values.slice(0, 10), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
  if (values[9] !== d1 || values[10] !== d2) return { ok: false, problem: 'check_digit' };
  return { ok: true, value: digits };
}

export function isValidCpf(input: string): boolean {
  return parseCpf(input).ok;
}

/** Accepts `11.222.333/0001-81`, bare, numeric or alphanumeric; returns 14 characters. */
export function parseCnpj(input: string): DocumentResult {
  const trimmed = input.trim().toUpperCase();
  let bare: string;
  if (CNPJ_BARE.test(trimmed)) bare = trimmed;
  else if (CNPJ_FORMATTED.test(trimmed)) bare = trimmed.replace(/[./-]/g, '');
  else return { ok: false, problem: 'format' };
  if (/^(.)\1{13}$/.test(bare)) return { ok: false, problem: 'repeated' };
  const values = [...bare].map((c) => c.charCodeAt(0) - 48);
  const d1 = mod11Digit(values.slice(0, 12), [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
  const d2 = mod11Digit(values.slice(0, 13), [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
  if (values[12] !== d1 || values[13] !== d2) return { ok: false, problem: 'check_digit' };
  return { ok: true, value: bare };
}

export function isValidCnpj(input: string): boolean {
  return parseCnpj(input).ok;
}

/** A creditor's document: a CNPJ, or a CPF for a person. */
export function parseTaxDocument(input: string): { ok: true; kind: 'cpf' | 'cnpj'; value: string } | { ok: false; problem: DocumentProblem } {
  const cpf = parseCpf(input);
  if (cpf.ok) return { ok: true, kind: 'cpf', value: cpf.value };
  const cnpj = parseCnpj(input);
  if (cnpj.ok) return { ok: true, kind: 'cnpj', value: cnpj.value };
  const looksLikeCpf = /^[\d.-]{11,14}$/.test(input.trim()) && input.replace(/\D/g, '').length === 11;
  return { ok: false, problem: looksLikeCpf ? cpf.problem : cnpj.problem };
}

export function formatCpf(digits: string): string {
  return `${digits.slice(0, 3)}.${digits.slice(3, 6)}.${digits.slice(6, 9)}-${digits.slice(9)}`;
}

export function formatCnpj(bare: string): string {
  return `${bare.slice(0, 2)}.${bare.slice(2, 5)}.${bare.slice(5, 8)}/${bare.slice(8, 12)}-${bare.slice(12)}`;
}

export function formatTaxDocument(value: string): string {
  return value.length === 11 ? formatCpf(value) : formatCnpj(value);
}

/** `***.456.789-**`: the only form a CPF takes on a page. */
export function maskCpf(digits: string): string {
  return `***.${digits.slice(3, 6)}.${digits.slice(6, 9)}-**`;
}

export function documentProblemMessage(kind: 'CPF' | 'CNPJ' | 'CPF ou CNPJ', problem: DocumentProblem): string {
  switch (problem) {
    case 'format':
      return `${kind} inválido: formato não reconhecido`;
    case 'repeated':
      return `${kind} inválido: todos os dígitos iguais`;
    case 'check_digit':
      return `${kind} inválido: dígito verificador não confere`;
  }
}
