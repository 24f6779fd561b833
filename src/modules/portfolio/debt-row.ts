// The rules for one debt of a portfolio (contract §4.3 and §5), shared by the CSV import
// (text cells, as a spreadsheet writes them) and the JSON batch `PUT /api/v1/debts` (typed
// values). Plain functions, no zod and no dayjs per row: an import validates a million rows.
//
// Decisions where the contract is silent (kept in docs):
// - Every field is trimmed. A name's inner whitespace (spaces, tabs, NBSP) collapses to one
//   space. Control characters (C0 except where said, DEL, C1, U+2028/9, bidi overrides) are
//   refused: anywhere in external_id, cpf, name, email, phone; a description may hold line
//   breaks and tabs (CRLF becomes LF).
// - Lengths count Unicode code points: external_id 1–64, name 1–200, description ≤ 500.
// - external_id is compared exactly (case-sensitive) after trimming.
// - An empty optional cell (email, phone, description) is null. In JSON, "" and null are
//   null too.
// - email: zod's e-mail rule (the same as `z.email()`), at most 254 characters, stored in
//   lower case.
// - phone: Brazilian, DDD (two digits 1–9) + 8 or 9 digits, an 11-digit number starting
//   with 9 after the DDD; `+55`/`55`, spaces, dots, parentheses and hyphens are accepted
//   around it; stored as the 10 or 11 national digits, without country code (the same rule
//   as the creditor API's, src/lib/phone.ts).
// - amount: `parseReais` (src/lib/money.ts). JSON amount_cents: a safe integer > 0.
// - due_date: `YYYY-MM-DD` or `DD/MM/YYYY` in CSV (as `parseSpreadsheetDate`), only
//   `YYYY-MM-DD` in JSON; years 1900–2999. A due date in the future is accepted (the days
//   overdue are then 0).
// - Prescription (Código Civil art. 206 §5º I): a debt is prescribed when its due date is
//   strictly before today − 5 years (`addYears`, so 29 Feb → 28 Feb): due exactly 5 years
//   ago today is still collectable (the term's last day counts), a day earlier is not.
import { regexes } from 'zod';
import { normalizeBrazilianPhone, PHONE_MESSAGE } from '../../lib/phone.js';
import { documentProblemMessage, parseCpf } from '../../lib/documents.js';
import { parseReais } from '../../lib/money.js';
import { addYears, type CalendarDate } from '../../lib/dates.js';
import { scrub } from '../../lib/redact.js';

export const DEBT_COLUMNS = ['external_id', 'cpf', 'name', 'email', 'phone', 'amount', 'due_date', 'description'] as const;
/** A column of the portfolio CSV, by its contract name. */
export type DebtColumn = (typeof DEBT_COLUMNS)[number];
export const REQUIRED_COLUMNS: readonly DebtColumn[] = ['external_id', 'cpf', 'name', 'amount', 'due_date'];

/** A debt as stored and as the API returns it. */
export interface DebtRow {
  external_id: string;
  /** 11 digits */
  cpf: string;
  name: string;
  email: string | null;
  /** DDD + number, 10 or 11 digits */
  phone: string | null;
  amount_cents: number;
  due_date: CalendarDate;
  description: string | null;
}

/** Raw CSV cells by contract column; `undefined` when the row has no such cell. */
export type DebtCells = { [K in DebtColumn]?: string | undefined };

/** `column` null: a problem of the row as a whole (e.g. more cells than the header). */
export interface ColumnError {
  column: DebtColumn | null;
  message: string;
}

/** `path`: the JSON field (`amount_cents`…); '' for the item itself. */
export interface PathError {
  path: string;
  message: string;
}

export type CsvRowCheck = { ok: true; row: DebtRow } | { ok: false; errors: ColumnError[] };
export type JsonItemCheck = { ok: true; row: DebtRow } | { ok: false; errors: PathError[] };

export const LIMITS = { externalId: 64, name: 200, description: 500, email: 254 } as const;

export const PRESCRIBED_MESSAGE = 'dívida prescrita: vencimento há mais de 5 anos (Código Civil art. 206 §5º I)';

/** Due dates strictly before this date are prescribed. */
export function prescriptionCutoff(today: CalendarDate): CalendarDate {
  return addYears(today, -5);
}

export function isPrescribed(dueDate: CalendarDate, today: CalendarDate): boolean {
  return dueDate < prescriptionCutoff(today);
}

// ---------------------------------------------------------------------------------------
// Field rules. Each returns the normalised value or a Problem (allocated only on failure).

class Problem {
  readonly message: string;
  constructor(message: string) {
    // A message may quote a cell, and a CPF typed in the wrong column would come back
    // whole: error messages never hold one (CONTRACT §2). Built only on failure.
    this.message = scrub(message);
  }
}

/* eslint-disable no-control-regex -- these patterns exist to find control characters */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROL_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROL_BUT_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/* eslint-enable no-control-regex */
const EMAIL = regexes.email;

function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) count++;
    else {
      const next = text.charCodeAt(i + 1);
      count++;
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return count;
}

function tooLong(text: string, max: number): boolean {
  return text.length > max && codePoints(text) > max;
}

/* eslint-disable-next-line no-control-regex -- finds control characters, odd spaces and double spaces */
const NOT_PLAIN = /[\u0000-\u001f\u007f-\u00a0\u1680\u2000-\u206f\u3000\ufeff]| {2}/;

/** A character that `trim()` never takes off (printable ASCII, or U+00A1–U+167F). */
function solid(c: number): boolean {
  return (c > 0x20 && c < 0x7f) || (c > 0xa0 && c < 0x1680);
}

/**
 * True when `text` can be returned as it is by the name rule: non-empty, nothing for `trim()`
 * to take off, and none of the characters the rule looks at further (C0 controls, DEL, C1,
 * NBSP, U+1680, U+2000–U+206F, U+3000, U+FEFF) nor two spaces in a row. One regex scan
 * instead of a control-character scan and a whitespace scan (a charCodeAt loop measured
 * slower than either); a unit test checks every UTF-16 code unit against the slow path.
 */
function plainText(text: string): boolean {
  const n = text.length;
  return n > 0 && solid(text.charCodeAt(0)) && solid(text.charCodeAt(n - 1)) && !NOT_PLAIN.test(text);
}

/** A raw value quoted for a message, shortened and without control characters. */
function shown(raw: string): string {
  // eslint-disable-next-line no-control-regex -- replaces control characters
  const clean = raw.trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

function ruleExternalId(raw: string): string | Problem {
  const value = raw.trim();
  if (value === '') return new Problem('external_id é obrigatório');
  if (CONTROL.test(value)) return new Problem('external_id contém caracteres de controle');
  if (tooLong(value, LIMITS.externalId)) return new Problem(`external_id com mais de ${LIMITS.externalId} caracteres`);
  return value;
}

/** Where the 11 digits of a CPF sit in its bare (11) and formatted (`123.456.789-09`, 14) forms. */
const BARE_AT = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const FORMATTED_AT = [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13];

/**
 * `parseCpf` for the common cases, 11 bare digits or `123.456.789-09`, without allocating
 * more than the result: the 11 digits if valid, null if not, undefined when the input has
 * another shape (then ask `parseCpf`). A property test checks it agrees with `parseCpf`.
 */
export function fastCpf(value: string): string | null | undefined {
  let at: readonly number[];
  if (value.length === 11) at = BARE_AT;
  else if (value.length === 14 && value.charCodeAt(3) === 0x2e && value.charCodeAt(7) === 0x2e && value.charCodeAt(11) === 0x2d) at = FORMATTED_AT;
  else return undefined;
  let sum1 = 0;
  let sum2 = 0;
  let same = true;
  const first = value.charCodeAt(0);
  for (let i = 0; i < 9; i++) {
    const c = value.charCodeAt(at[i]!);
    if (c < 48 || c > 57) return undefined;
    if (c !== first) same = false;
    sum1 += (c - 48) * (10 - i);
    sum2 += (c - 48) * (11 - i);
  }
  const c9 = value.charCodeAt(at[9]!);
  const c10 = value.charCodeAt(at[10]!);
  if (c9 < 48 || c9 > 57 || c10 < 48 || c10 > 57) return undefined;
  if (same && c9 === first && c10 === first) return null;
  const rest1 = sum1 % 11;
  const d1 = rest1 < 2 ? 0 : 11 - rest1;
  const rest2 = (sum2 + d1 * 2) % 11;
  const d2 = rest2 < 2 ? 0 : 11 - rest2;
  if (c9 - 48 !== d1 || c10 - 48 !== d2) return null;
  if (at === BARE_AT) return value;
  // the 11 digits as one new string (four slices and three concatenations allocate seven)
  return String.fromCharCode(
    value.charCodeAt(0), value.charCodeAt(1), value.charCodeAt(2),
    value.charCodeAt(4), value.charCodeAt(5), value.charCodeAt(6),
    value.charCodeAt(8), value.charCodeAt(9), value.charCodeAt(10),
    c9, c10,
  );
}

function ruleCpf(raw: string): string | Problem {
  const value = raw.trim();
  if (value === '') return new Problem('CPF é obrigatório');
  const fast = fastCpf(value);
  if (typeof fast === 'string') return fast;
  const parsed = parseCpf(value);
  if (parsed.ok) return parsed.value;
  if (parsed.problem === 'format' && /^\d{9,10}$/.test(value)) {
    return new Problem(
      `CPF inválido: tem ${value.length} dígitos em vez de 11 (o Excel remove zeros à esquerda de números; formate a coluna como texto)`,
    );
  }
  return new Problem(documentProblemMessage('CPF', parsed.problem));
}

function ruleName(raw: string): string | Problem {
  // fast path: nothing to trim, no control character, no whitespace to collapse (see plainText)
  if (plainText(raw)) return tooLong(raw, LIMITS.name) ? new Problem(`nome com mais de ${LIMITS.name} caracteres`) : raw;
  let value = raw.trim();
  if (value === '') return new Problem('nome é obrigatório');
  if (CONTROL_BUT_TAB.test(value)) return new Problem('nome contém quebra de linha ou caracteres de controle');
  if (/\s\s|[^\S ]/.test(value)) value = value.replace(/\s+/g, ' ');
  if (tooLong(value, LIMITS.name)) return new Problem(`nome com mais de ${LIMITS.name} caracteres`);
  return value;
}

function ruleEmail(raw: string): string | null | Problem {
  const value = raw.trim();
  if (value === '') return null;
  if (value.length > LIMITS.email || !EMAIL.test(value)) return new Problem(`e-mail inválido: "${shown(value)}"`);
  return value.toLowerCase();
}

export { normalizeBrazilianPhone, PHONE_MESSAGE };

/** The digits of the phone being read (char codes), so that the result is one new string. */
const phoneDigits = new Uint16Array(13);

/**
 * `normalizeBrazilianPhone` for the common shapes (digits with spaces, `()`, `.`, `+`, `-`),
 * in one pass over the characters instead of a replace, two regexes and a slice: the
 * national digits, or null when they are no Brazilian phone; undefined when the text holds
 * any other character (then ask `normalizeBrazilianPhone`). A property test checks they agree.
 */
export function fastPhone(text: string): string | null | undefined {
  const d = phoneDigits;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (count === 13) return null; // more digits than 55 + 11
      d[count++] = c;
    } else if (c !== 0x20 && c !== 0x28 && c !== 0x29 && c !== 0x2e && c !== 0x2b && c !== 0x2d) {
      return undefined;
    }
  }
  // 55 (Brazil's country code) in front of 10 or 11 national digits
  const from = count >= 12 && d[0] === 53 && d[1] === 53 ? 2 : 0;
  const length = count - from;
  if (length !== 10 && length !== 11) return null;
  // DDD: two digits 1–9; eleven digits: a mobile number, 9 after the DDD
  if (d[from] === 48 || d[from + 1] === 48 || (length === 11 && d[from + 2] !== 57)) return null;
  if (length === text.length) return text;
  const f = from;
  return length === 10
    ? String.fromCharCode(d[f]!, d[f + 1]!, d[f + 2]!, d[f + 3]!, d[f + 4]!, d[f + 5]!, d[f + 6]!, d[f + 7]!, d[f + 8]!, d[f + 9]!)
    : String.fromCharCode(d[f]!, d[f + 1]!, d[f + 2]!, d[f + 3]!, d[f + 4]!, d[f + 5]!, d[f + 6]!, d[f + 7]!, d[f + 8]!, d[f + 9]!, d[f + 10]!);
}

function rulePhone(raw: string): string | null | Problem {
  const value = raw.trim();
  if (value === '') return null;
  const fast = fastPhone(value); // no regex nor intermediate string for the usual shapes
  if (fast !== undefined) return fast ?? new Problem(PHONE_MESSAGE);
  return normalizeBrazilianPhone(value) ?? new Problem(PHONE_MESSAGE);
}

function ruleDescription(raw: string): string | null | Problem {
  let value = raw.trim();
  if (value === '') return null;
  if (CONTROL_BUT_BREAKS.test(value)) return new Problem('descrição contém caracteres de controle');
  if (value.includes('\r')) value = value.replace(/\r\n?/g, '\n');
  if (tooLong(value, LIMITS.description)) return new Problem(`descrição com mais de ${LIMITS.description} caracteres`);
  return value;
}

/**
 * `parseReais` for the common spreadsheet shapes `1234,56` and `1.234,56` (a comma and two
 * decimals), by arithmetic: the centavos, or -1 when the input has another shape or is not
 * a positive amount (then ask `parseReais`, which also words the message). A property test
 * checks it agrees with `parseReais`.
 */
export function fastReais(text: string): number {
  const n = text.length;
  if (n < 4 || n > 16 || text.charCodeAt(n - 3) !== 44) return -1;
  const d1 = text.charCodeAt(n - 2) - 48;
  const d2 = text.charCodeAt(n - 1) - 48;
  if (d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  let integer = 0;
  let run = 0; // digits since the start or the last dot
  let dots = 0;
  for (let i = 0; i < n - 3; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (run === 0 || run > 3 || (dots > 0 && run !== 3)) return -1;
      dots++;
      run = 0;
    } else if (c >= 48 && c <= 57) {
      integer = integer * 10 + (c - 48);
      run++;
    } else return -1;
  }
  if (run === 0 || (dots > 0 && run !== 3)) return -1;
  const cents = integer * 100 + d1 * 10 + d2;
  return cents > 0 ? cents : -1;
}

function ruleAmountText(raw: string): number | Problem {
  const fast = fastReais(raw);
  if (fast > 0) return fast;
  const parsed = parseReais(raw);
  return parsed.ok ? parsed.cents : new Problem(parsed.message);
}

function ruleAmountCents(value: unknown): number | Problem {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return new Problem('amount_cents deve ser um número inteiro de centavos (R$ 1.234,56 → 123456)');
  }
  if (value <= 0) return new Problem('valor deve ser positivo');
  if (!Number.isSafeInteger(value)) return new Problem('valor grande demais');
  return value;
}

function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `YYYY-MM-DD` (and, unless `isoOnly`, `DD/MM/YYYY`) by arithmetic; the same answers as
 * `parseSpreadsheetDate`/`parseIsoDate` (a property test checks it), without dayjs.
 * Returns the date, 'format' when the text has neither shape, 'unreal' when it has one but
 * names no real date, 'range' for a year outside 1900–2999.
 */
export function parseDueDate(raw: string, isoOnly = false): CalendarDate | 'format' | 'unreal' | 'range' {
  const text = raw.trim();
  if (text.length !== 10) return 'format';
  let year: number;
  let month: number;
  let day: number;
  let iso: boolean;
  if (text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45) {
    year = digitsAt(text, 0, 4);
    month = digitsAt(text, 5, 2);
    day = digitsAt(text, 8, 2);
    iso = true;
  } else if (!isoOnly && text.charCodeAt(2) === 47 && text.charCodeAt(5) === 47) {
    day = digitsAt(text, 0, 2);
    month = digitsAt(text, 3, 2);
    year = digitsAt(text, 6, 4);
    iso = false;
  } else {
    return 'format';
  }
  if (year < 0 || month < 0 || day < 0) return 'format';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return 'unreal';
  if (year < 1900 || year > 2999) return 'range';
  if (iso) return text;
  // YYYY-MM-DD as one new string (three slices and a template allocate four)
  return String.fromCharCode(
    text.charCodeAt(6), text.charCodeAt(7), text.charCodeAt(8), text.charCodeAt(9), 45,
    text.charCodeAt(3), text.charCodeAt(4), 45,
    text.charCodeAt(0), text.charCodeAt(1),
  );
}

function ruleDueDate(raw: string, cutoff: CalendarDate, isoOnly: boolean): CalendarDate | Problem {
  const text = raw.trim();
  if (text === '') return new Problem('vencimento é obrigatório');
  const parsed = parseDueDate(text, isoOnly);
  switch (parsed) {
    case 'format':
      return new Problem(`data inválida: "${shown(text)}" — use ${isoOnly ? 'AAAA-MM-DD' : 'DD/MM/AAAA ou AAAA-MM-DD'}`);
    case 'unreal':
      return new Problem(`data inválida: ${text} não existe`);
    case 'range':
      return new Problem(`data inválida: ${text} — o ano deve estar entre 1900 e 2999`);
  }
  if (parsed < cutoff) return new Problem(PRESCRIBED_MESSAGE);
  return parsed;
}

// ---------------------------------------------------------------------------------------

const JSON_FIELDS = ['external_id', 'cpf', 'name', 'email', 'phone', 'amount_cents', 'due_date', 'description'] as const;
const JSON_FIELD_SET: ReadonlySet<string> = new Set(JSON_FIELDS);

export interface DebtRules {
  readonly today: CalendarDate;
  /** Due dates strictly before it are prescribed. */
  readonly cutoff: CalendarDate;
  /**
   * One CSV row. `absentMessage` is the message for a required column whose cell is
   * `undefined` (a row shorter than the header); by default "… é obrigatório".
   */
  checkCells(cells: DebtCells, absentMessage?: string): CsvRowCheck;
  /**
   * The same for a record as the CSV parser gives it, its cells found through `index` (where
   * each column sits, -1 when the file has no such column), returning the row itself or its
   * errors: the import's path, with no cells object nor result wrapper to allocate per row.
   */
  checkRecord(record: readonly string[], index: Readonly<Record<DebtColumn, number>>, absentMessage?: string): DebtRow | ColumnError[];
  /** One item of the JSON batch; `path` of an error is the JSON field name. */
  checkJson(item: unknown): JsonItemCheck;
}

function cellAt(record: readonly string[], at: number): string | undefined {
  return at === -1 ? undefined : record[at];
}

/** The rules as of `today` (the business calendar's date); the cutoff is computed once. */
export function createDebtRules(today: CalendarDate): DebtRules {
  const cutoff = prescriptionCutoff(today);

  function checkCells(cells: DebtCells, absentMessage?: string): CsvRowCheck {
    const result = checkRow(cells.external_id, cells.cpf, cells.name, cells.email, cells.phone, cells.amount, cells.due_date, cells.description, absentMessage);
    return Array.isArray(result) ? { ok: false, errors: result } : { ok: true, row: result };
  }

  function checkRecord(record: readonly string[], index: Readonly<Record<DebtColumn, number>>, absentMessage?: string): DebtRow | ColumnError[] {
    return checkRow(
      cellAt(record, index.external_id),
      cellAt(record, index.cpf),
      cellAt(record, index.name),
      cellAt(record, index.email),
      cellAt(record, index.phone),
      cellAt(record, index.amount),
      cellAt(record, index.due_date),
      cellAt(record, index.description),
      absentMessage,
    );
  }

  // No closures in here: it runs once per CSV row. The cells come as arguments, not as an
  // object, so that the import does not build one per row.
  function checkRow(
    externalIdCell: string | undefined,
    cpfCell: string | undefined,
    nameCell: string | undefined,
    emailCell: string | undefined,
    phoneCell: string | undefined,
    amountCell: string | undefined,
    dueDateCell: string | undefined,
    descriptionCell: string | undefined,
    absentMessage: string | undefined,
  ): DebtRow | ColumnError[] {
    let errors: ColumnError[] | null = null;
    const absent = absentMessage !== undefined;

    let cell = externalIdCell;
    const externalId = cell === undefined && absent ? null : ruleExternalId(cell ?? '');
    if (externalId === null) (errors ??= []).push({ column: 'external_id', message: absentMessage! });
    else if (externalId instanceof Problem) (errors ??= []).push({ column: 'external_id', message: externalId.message });

    cell = cpfCell;
    const cpf = cell === undefined && absent ? null : ruleCpf(cell ?? '');
    if (cpf === null) (errors ??= []).push({ column: 'cpf', message: absentMessage! });
    else if (cpf instanceof Problem) (errors ??= []).push({ column: 'cpf', message: cpf.message });

    cell = nameCell;
    const name = cell === undefined && absent ? null : ruleName(cell ?? '');
    if (name === null) (errors ??= []).push({ column: 'name', message: absentMessage! });
    else if (name instanceof Problem) (errors ??= []).push({ column: 'name', message: name.message });

    const email = ruleEmail(emailCell ?? '');
    if (email instanceof Problem) (errors ??= []).push({ column: 'email', message: email.message });

    const phone = rulePhone(phoneCell ?? '');
    if (phone instanceof Problem) (errors ??= []).push({ column: 'phone', message: phone.message });

    cell = amountCell;
    const amount = cell === undefined && absent ? null : ruleAmountText(cell ?? '');
    if (amount === null) (errors ??= []).push({ column: 'amount', message: absentMessage! });
    else if (amount instanceof Problem) (errors ??= []).push({ column: 'amount', message: amount.message });

    cell = dueDateCell;
    const due = cell === undefined && absent ? null : ruleDueDate(cell ?? '', cutoff, false);
    if (due === null) (errors ??= []).push({ column: 'due_date', message: absentMessage! });
    else if (due instanceof Problem) (errors ??= []).push({ column: 'due_date', message: due.message });

    const description = ruleDescription(descriptionCell ?? '');
    if (description instanceof Problem) (errors ??= []).push({ column: 'description', message: description.message });

    if (errors !== null) return errors;
    return {
      external_id: externalId as string,
      cpf: cpf as string,
      name: name as string,
      email: email as string | null,
      phone: phone as string | null,
      amount_cents: amount as number,
      due_date: due as CalendarDate,
      description: description as string | null,
    };
  }

  function checkJson(item: unknown): JsonItemCheck {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return { ok: false, errors: [{ path: '', message: 'cada dívida deve ser um objeto JSON' }] };
    }
    const input = item as Record<string, unknown>;
    const errors: PathError[] = [];
    const fail = (path: string, message: string): void => {
      errors.push({ path, message });
    };
    const text = (field: string, label: string, optional: boolean): string | null => {
      const value = input[field];
      if (value === undefined || value === null) {
        if (!optional) fail(field, `${label} é obrigatório`);
        return optional ? '' : null;
      }
      if (typeof value !== 'string') {
        fail(field, `${field} deve ser um texto`);
        return null;
      }
      return value;
    };
    const apply = <T>(field: string, raw: string | null, rule: (raw: string) => T | Problem): T | undefined => {
      if (raw === null) return undefined;
      const result = rule(raw);
      if (result instanceof Problem) {
        fail(field, result.message);
        return undefined;
      }
      return result;
    };

    const externalId = apply('external_id', text('external_id', 'external_id', false), ruleExternalId);
    const cpf = apply('cpf', text('cpf', 'CPF', false), ruleCpf);
    const name = apply('name', text('name', 'nome', false), ruleName);
    const email = apply('email', text('email', 'e-mail', true), ruleEmail);
    const phone = apply('phone', text('phone', 'telefone', true), rulePhone);
    let amount: number | undefined;
    if (input.amount_cents === undefined || input.amount_cents === null) fail('amount_cents', 'amount_cents é obrigatório');
    else {
      const result = ruleAmountCents(input.amount_cents);
      if (result instanceof Problem) fail('amount_cents', result.message);
      else amount = result;
    }
    const due = apply('due_date', text('due_date', 'vencimento', false), (raw) => ruleDueDate(raw, cutoff, true));
    const description = apply('description', text('description', 'descrição', true), ruleDescription);
    for (const key of Object.keys(input)) {
      if (!JSON_FIELD_SET.has(key)) fail(key, 'campo desconhecido');
    }

    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      row: {
        external_id: externalId!,
        cpf: cpf!,
        name: name!,
        email: email ?? null,
        phone: phone ?? null,
        amount_cents: amount!,
        due_date: due!,
        description: description ?? null,
      },
    };
  }

  return { today, cutoff, checkCells, checkRecord, checkJson };
}

/**
 * A whole JSON batch: each item checked, and an item whose external_id already appeared in
 * an earlier item is rejected ("já aparece em debts.N", N zero-based as in the paths),
 * whether or not that earlier item was valid.
 */
export function checkJsonBatch(items: readonly unknown[], today: CalendarDate): JsonItemCheck[] {
  const rules = createDebtRules(today);
  const seen = new Map<string, number>();
  return items.map((item, index) => {
    const result = rules.checkJson(item);
    const rawId = typeof item === 'object' && item !== null ? (item as Record<string, unknown>).external_id : undefined;
    const id = typeof rawId === 'string' ? ruleExternalId(rawId) : null;
    if (typeof id !== 'string') return result;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, index);
      return result;
    }
    const duplicate: PathError = { path: 'external_id', message: `external_id repetido: já aparece em debts.${first}` };
    return { ok: false, errors: result.ok ? [duplicate] : [duplicate, ...result.errors] };
  });
}
