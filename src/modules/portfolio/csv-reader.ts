// Portfolio CSV intake, the pure part: bytes in, validated rows and row errors out.
// Streaming end to end: memory stays flat whatever the file's size (the only thing that
// grows is the set of external_ids already seen, needed to reject repeats).
//
//   bytes ─ StickyDecoder (encoding, BOM, not-a-CSV) ─ text
//         ─ header sniffing (delimiter) ─ papaparse ─ header mapping ─ DebtRules per row
//
// Decisions where the contract is silent (kept in docs):
// - `line` is the spreadsheet row: the header is 1; each record counts one however many
//   physical lines its quoted fields span; a blank line between records counts as a row
//   too (Excel shows it as an empty row), blank lines before the header do not.
// - A record whose cells are all empty (`;;;;`, as Excel writes formatted empty rows) is
//   skipped silently, but counts as a row for the numbering. It is neither imported nor
//   rejected.
// - A record with fewer cells than the header: a missing required cell is an error on that
//   column ("campo ausente…"), missing optional cells are empty. A record with more cells
//   than the header: ignored if the extra cells are empty, else the row is rejected with one
//   error of column null (a value probably held the delimiter without quotes).
// - A `"` inside an unquoted value is kept as a character; spaces after a closing quote are
//   dropped. An opening quote never closed, a closing quote followed by other text
//   (`"abc"def`), or a record over 100,000 characters fails the whole file with the row
//   where the record began: nothing after it could be read reliably.
// - Line endings: LF, CRLF, or both in one file; CR alone only when the header ends so.
// - A repeated external_id (exact, after trimming) is rejected with the row of its first
//   appearance, whether or not that row was accepted (nor whether the later row has other
//   errors). The ids are kept off-heap in an IdRegistry: about 45 MB for a million ids.
import { Buffer } from 'node:buffer';
import Papa from 'papaparse';
import type { CalendarDate } from '../../lib/dates.js';
import { CsvFileError } from './csv-file-error.js';
import { MESSAGES, StickyDecoder, type DetectedEncoding } from './decode.js';
import { createDebtRules, type ColumnError, type DebtRow, type DebtRules } from './debt-row.js';
import { IdRegistry } from './id-registry.js';
import { detectDelimiter, mapHeader, type ColumnIndex, type Delimiter, type HeaderMapping } from './headers.js';

export { CsvFileError } from './csv-file-error.js';

export type CsvEvent =
  | { type: 'row'; line: number; row: DebtRow }
  | { type: 'rejected'; line: number; errors: ColumnError[] };

export interface CsvSummary {
  encoding: DetectedEncoding;
  bom: boolean;
  delimiter: Delimiter | null;
  /** Rows accepted. */
  rows: number;
  /** Rows rejected. */
  rejected: number;
  /** The last spreadsheet row read (1 = only the header). */
  lastLine: number;
}

export interface CsvReadOptions {
  /** Today on the business calendar: prescription is counted from it. */
  today: CalendarDate;
}

/** Longest record accepted before the file is declared unreadable (characters). */
export const MAX_RECORD_CHARS = 100_000;
/** Longest header line looked for before giving up (characters). */
const MAX_HEADER_CHARS = 64 * 1024;
/** Input chunks are cut to this size, so one `write` never produces a huge batch of events. */
const SLICE_BYTES = 64 * 1024;

/**
 * papaparse's synchronous core: `parse(text, 0, ignoreLastRow)` returns the records
 * complete in `text` and, in `meta.cursor`, where the first incomplete one begins. We drive
 * it directly, keeping the incomplete tail ourselves (as papaparse's own streamers do), so
 * records, line numbers and our state stay in step with no stream between them; it reads
 * strings about four times faster than csv-parse reads bytes.
 */
interface PapaCore {
  parse(input: string, baseIndex: number, ignoreLastRow: boolean): PapaResult;
}
interface PapaResult {
  data: string[][];
  errors: Array<{ code: string; row?: number }>;
  meta: { cursor: number };
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SEMICOLON = 0x3b;
const COMMA = 0x2c;

function extraCellsEmpty(record: readonly string[], from: number): boolean {
  for (let i = from; i < record.length; i++) if (record[i]!.trim() !== '') return false;
  return true;
}

/** A record's length in characters, as written (delimiters counted, quotes not). */
function recordChars(record: readonly string[]): number {
  let n = record.length - 1;
  for (let i = 0; i < record.length; i++) n += record[i]!.length;
  return n;
}

function duplicateError(first: number): ColumnError {
  return { column: 'external_id', message: `external_id repetido: já aparece na linha ${first}` };
}

function allCellsEmpty(record: readonly string[]): boolean {
  for (let i = 0; i < record.length; i++) if (record[i]!.trim() !== '') return false;
  return true;
}

/**
 * The push-style engine: `write` bytes, `end`, and `take` the events produced so far. Every
 * method may throw CsvFileError; after that the instance is unusable. A header-level problem
 * is thrown before any event is produced; "no data rows" is thrown by `end`.
 */
export class DebtCsvParser {
  private readonly rules: DebtRules;
  private readonly decoder = new StickyDecoder();
  private readonly sink = (text: string): void => this.onText(text);
  private events: CsvEvent[] = [];

  // header sniffing, before the parser exists
  private headTexts: string[] = [];
  private headChars = 0;
  private headScanned = 0;
  private headInQuotes = false;
  private headPrevious = -1;
  private headStart = -1;
  private headEnd = -1;

  private core: PapaCore | null = null;
  /** The text of the record under way: what the last parse could not finish. */
  private partial = '';
  /** Records (blank ones included) read after the header. */
  private recordsAfterHeader = 0;
  /** What the parser splits records on. */
  private newline: '\n' | '\r' = '\n';
  /** Strip the CR of CRLF line endings from each record's last cell (the parser splits on LF). */
  private stripCr = true;

  private delimiter: Delimiter | null = null;
  private header: HeaderMapping | null = null;
  private index: ColumnIndex | null = null;
  private dataRecords = 0;
  private accepted = 0;
  private rejectedCount = 0;
  private lastLine = 0;
  private readonly ids = new IdRegistry();
  private failed = false;
  private ended = false;

  constructor(options: CsvReadOptions) {
    this.rules = createDebtRules(options.today);
  }

  write(chunk: Uint8Array): void {
    this.guard();
    try {
      for (let offset = 0; offset < chunk.length; offset += SLICE_BYTES) {
        const slice = chunk.length <= SLICE_BYTES ? chunk : chunk.subarray(offset, offset + SLICE_BYTES);
        this.decoder.writeText(slice, this.sink);
      }
    } catch (error) {
      throw this.fail(error);
    }
  }

  end(): void {
    this.guard();
    this.ended = true;
    try {
      this.decoder.endText(this.sink);
      if (this.decoder.empty) throw new CsvFileError('empty', 'o arquivo está vazio');
      if (this.core === null) this.startParser();
      this.feed('', true);
      if (this.header === null) throw new CsvFileError('empty', 'o arquivo está vazio: não há cabeçalho nem linhas');
      if (this.dataRecords === 0) {
        throw new CsvFileError('no_rows', 'o arquivo não tem linhas de dados: só o cabeçalho; inclua uma dívida por linha abaixo dele', null);
      }
    } catch (error) {
      throw this.fail(error);
    }
  }

  /** The events produced since the last call. */
  take(): CsvEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** How many events are waiting to be taken. */
  get pending(): number {
    return this.events.length;
  }

  summary(): CsvSummary {
    return {
      encoding: this.decoder.encoding,
      bom: this.decoder.bom,
      delimiter: this.delimiter,
      rows: this.accepted,
      rejected: this.rejectedCount,
      lastLine: this.lastLine,
    };
  }

  private guard(): void {
    if (this.failed) throw new Error('DebtCsvParser: used after a CsvFileError');
    if (this.ended) throw new Error('DebtCsvParser: used after end()');
  }

  private fail(error: unknown): unknown {
    this.failed = true;
    this.events = [];
    if (error instanceof CsvFileError && error.code === 'invalid_utf8') {
      const line = this.header === null ? 1 : this.currentLine() + 1;
      return new CsvFileError('invalid_utf8', MESSAGES.invalidUtf8(line), line);
    }
    return error;
  }

  /** The spreadsheet row of the last record the parser completed. */
  private currentLine(): number {
    return 1 + this.recordsAfterHeader;
  }

  private onText(text: string): void {
    if (this.core !== null) {
      this.feed(text, false);
      return;
    }
    this.headTexts.push(text);
    this.headChars += text.length;
    if (this.headEnd === -1 && !this.scanHeader(text)) {
      if (this.headChars > MAX_HEADER_CHARS) {
        throw new CsvFileError('header', 'cabeçalho não encontrado: a primeira linha do arquivo tem mais de 64 KB; o arquivo é mesmo um CSV?', 1);
      }
      return;
    }
    // A header ending in CR with nothing read after it yet: the next character tells a CRLF
    // file from a CR-only one (the decoder may cut its text anywhere).
    if (this.headEnd === this.headChars - 1 && text.charCodeAt(text.length - 1) === CR) return;
    this.startParser();
  }

  /** Scans for the end of the header line (outside quotes); true once found. */
  private scanHeader(chunk: string): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk.charCodeAt(i);
      const at = this.headScanned + i;
      if (this.headStart === -1) {
        if (b === NEWLINE || b === CR || b === 0x20 || b === 0x09) continue; // blank lines before the header
        this.headStart = at;
      }
      const previous = this.headPrevious;
      this.headPrevious = b;
      if (b === QUOTE) {
        // as papaparse: a quote opens a quoted value only at the start of
        // a value (or right after a closing quote: `""` is an escaped quote)
        if (this.headInQuotes) this.headInQuotes = false;
        else if (at === this.headStart || previous === SEMICOLON || previous === COMMA || previous === QUOTE) this.headInQuotes = true;
      } else if ((b === NEWLINE || b === CR) && !this.headInQuotes) {
        this.headEnd = at;
        this.headScanned += chunk.length;
        return true;
      }
    }
    this.headScanned += chunk.length;
    return false;
  }

  private startParser(): void {
    const head = this.headTexts.join('');
    this.headTexts = [];
    const start = this.headStart === -1 ? head.length : this.headStart;
    const end = this.headEnd === -1 ? head.length : this.headEnd;
    this.delimiter = detectDelimiter(head.slice(start, end));
    // Line endings: LF, with the CR of a CRLF (Excel's) taken off each record's last cell —
    // so a file saved by Excel and then edited by hand, with both, reads right. Only a file
    // whose header ends in a lone CR (old Mac) is split on CR.
    const crOnly = this.headEnd !== -1 && head.charCodeAt(end) === CR && end + 1 < head.length && head.charCodeAt(end + 1) !== NEWLINE;
    this.stripCr = !crOnly;
    this.newline = crOnly ? '\r' : '\n';
    this.core = new Papa.Parser({ delimiter: this.delimiter, newline: this.newline, quoteChar: '"' }) as unknown as PapaCore;
    if (head.length > 0) this.feed(head, false);
  }

  /** Parses `text` after what was left over; `final` at the end of the file. */
  private feed(text: string, final: boolean): void {
    let input = this.partial.length === 0 ? text : this.partial + text;
    if (input.length === 0) return;
    let complete = final;
    if (final) {
      // The last record has no line break after it: end it with one and parse as before the
      // end, so that `"valor" ` (a space, a tab or a CR after the closing quote) reads as it
      // would anywhere else; what is then still left over is a quote never closed.
      input += this.newline;
      complete = false;
    }
    const result = this.core!.parse(input, 0, !complete);
    const { data, errors } = result;
    // Before the end, an error about the record still under way (its row = data.length) may
    // only mean that the rest of it is in the next chunk: it is judged when that arrives.
    if (errors.length > 0 && (errors[0]!.row ?? data.length) < data.length) {
      const first = errors[0]!;
      const before = Math.min(first.row ?? data.length, data.length);
      for (let r = 0; r < before; r++) this.onRecord(data[r]!);
      throw this.syntaxError(first.code);
    }
    // Only a record begun in the leftover can be longer than a chunk (≤ 64 KiB).
    if (this.partial.length > 0 && input.length > MAX_RECORD_CHARS && data.length > 0 && recordChars(data[0]!) > MAX_RECORD_CHARS) {
      throw this.syntaxError('too_long');
    }
    for (let r = 0; r < data.length; r++) this.onRecord(data[r]!);
    this.partial = input.slice(result.meta.cursor);
    if (this.partial.length > MAX_RECORD_CHARS) throw this.syntaxError('too_long');
    if (final && this.partial.length > 0) throw this.syntaxError('MissingQuotes');
  }

  private syntaxError(code: string): CsvFileError {
    const line = this.header === null ? 1 : this.currentLine() + 1;
    switch (code) {
      case 'MissingQuotes':
        return new CsvFileError(
          'syntax',
          `aspas não fechadas: o valor que começa na linha ${line} abre aspas (") e o arquivo termina sem fechá-las; nada depois dele pôde ser lido`,
          line,
        );
      case 'InvalidQuotes':
        return new CsvFileError(
          'syntax',
          `aspas malformadas na linha ${line}: um valor entre aspas (") é seguido de outro texto antes do separador "${this.delimiter ?? ';'}"; ` +
            'para ter aspas dentro de um valor, ponha o valor todo entre aspas e dobre as de dentro (assim: "um ""exemplo"""); nada depois dela pôde ser lido',
          line,
        );
      case 'too_long':
        return new CsvFileError(
          'syntax',
          `a linha ${line} passa de ${MAX_RECORD_CHARS.toLocaleString('pt-BR')} caracteres: provavelmente aspas (") abertas e não fechadas; nada depois dela pôde ser lido`,
          line,
        );
      default:
        return new CsvFileError('syntax', `o arquivo não pôde ser lido como CSV a partir da linha ${line} (${code})`, line);
    }
  }

  private onRecord(record: string[]): void {
    if (this.stripCr) {
      const last = record.length - 1;
      const cell = record[last]!;
      if (cell.length > 0 && cell.charCodeAt(cell.length - 1) === CR) record[last] = cell.slice(0, -1);
    }
    if (this.header === null) {
      if (allCellsEmpty(record)) return; // blank lines before the header
      this.header = mapHeader(record, this.delimiter!);
      this.index = this.header.index;
      this.lastLine = 1;
      return;
    }
    this.recordsAfterHeader++;
    const line = this.currentLine();
    this.lastLine = line;
    if (allCellsEmpty(record)) return;
    this.dataRecords++;

    const width = this.header.width;
    const index = this.index!;
    if (record.length > width && !extraCellsEmpty(record, width)) {
      this.claim(record[index.external_id], line);
      this.reject(line, [
        {
          column: null,
          message: `a linha tem ${record.length} campos, mas o cabeçalho tem ${width}: algum valor contém o separador "${this.delimiter}" sem estar entre aspas?`,
        },
      ]);
      return;
    }
    const absent = record.length < width ? `campo ausente: a linha tem ${record.length} campos, mas o cabeçalho tem ${width}` : undefined;
    // the row, or its errors (an array): no cells object nor result wrapper per row
    const result = this.rules.checkRecord(record, index, absent);
    if (!Array.isArray(result)) {
      const first = this.ids.claim(result.external_id, line);
      if (first !== 0) {
        this.reject(line, [duplicateError(first)]);
      } else {
        this.accepted++;
        this.events.push({ type: 'row', line, row: result });
      }
      return;
    }
    const first = this.claim(record[index.external_id], line);
    if (first === 0) this.reject(line, result);
    else this.reject(line, result[0]?.column === 'external_id' ? result : [duplicateError(first), ...result]);
  }

  /**
   * The line where this row's id first appeared (0 if new, and then recorded), for any
   * row whose trimmed id is a usable key, valid or not.
   */
  private claim(rawId: string | undefined, line: number): number {
    const id = rawId?.trim();
    return id && id.length <= 64 ? this.ids.claim(id, line) : 0;
  }

  private reject(line: number, errors: ColumnError[]): void {
    this.rejectedCount++;
    this.events.push({ type: 'rejected', line, errors });
  }
}

export type CsvInput = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** The input chunk as bytes, cut into slices of at most SLICE_BYTES (a caller may hand us a whole file at once). */
function* slicesOf(chunk: Uint8Array | string): Generator<Uint8Array> {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  if (bytes.length <= SLICE_BYTES) yield bytes;
  else for (let offset = 0; offset < bytes.length; offset += SLICE_BYTES) yield bytes.subarray(offset, offset + SLICE_BYTES);
}

/**
 * Reads a portfolio CSV: one event per data row, in file order. Throws CsvFileError for a
 * whole-file problem: the header-level ones (not a CSV, encoding, missing or repeated
 * columns) before the first event, "no data rows" at the end. Returns a summary.
 * Pulls input only as fast as the consumer takes events (a Readable is paused meanwhile).
 */
export async function* readDebtCsv(input: CsvInput, options: CsvReadOptions): AsyncGenerator<CsvEvent, CsvSummary, undefined> {
  const engine = new DebtCsvParser(options);
  for await (const chunk of input) {
    for (const slice of slicesOf(chunk)) {
      engine.write(slice);
      for (const event of engine.take()) yield event;
    }
  }
  engine.end();
  for (const event of engine.take()) yield event;
  return engine.summary();
}

export interface CsvBatch {
  rows: Array<Extract<CsvEvent, { type: 'row' }>>;
  rejected: Array<Extract<CsvEvent, { type: 'rejected' }>>;
}

/**
 * The same, in batches of up to `batchSize` events, rows and rejections together (default
 * 5,000), ready for a COPY. The last batch may be smaller. Throws like `readDebtCsv`; "no
 * data rows" comes instead of a last batch.
 */
export async function* readDebtCsvBatches(
  input: CsvInput,
  options: CsvReadOptions & { batchSize?: number },
): AsyncGenerator<CsvBatch, CsvSummary, undefined> {
  const batchSize = Math.max(1, options.batchSize ?? 5000);
  const engine = new DebtCsvParser(options);
  let batch: CsvBatch = { rows: [], rejected: [] };
  let size = 0;
  const add = (events: CsvEvent[]): CsvBatch[] => {
    const full: CsvBatch[] = [];
    for (const event of events) {
      if (event.type === 'row') batch.rows.push(event);
      else batch.rejected.push(event);
      if (++size >= batchSize) {
        full.push(batch);
        batch = { rows: [], rejected: [] };
        size = 0;
      }
    }
    return full;
  };
  for await (const chunk of input) {
    for (const slice of slicesOf(chunk)) {
      engine.write(slice);
      for (const full of add(engine.take())) yield full;
    }
  }
  engine.end();
  for (const full of add(engine.take())) yield full;
  if (size > 0) yield batch;
  return engine.summary();
}
