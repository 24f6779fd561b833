// Streaming, sticky encoding detection for uploaded CSV files.
//
// Input: the raw bytes of the upload, in chunks of any size (a chunk may end in the middle
// of a multi-byte character). Output: the same text as UTF-8 bytes (`write`) or as strings
// (`writeText`, what the CSV reader uses), chunk by chunk, so that memory stays flat however
// large the file is and however late its first accent comes.
//
//  - A UTF-8 BOM is stripped and fixes the encoding as UTF-8.
//  - A UTF-16/UTF-32 BOM, a zip/xlsx/ods, an old .xls (OLE2), a PDF, or any NUL byte is a
//    whole-file error (CsvFileError).
//  - While every byte seen is ASCII, the bytes pass through untouched (ASCII is the same
//    in UTF-8 and Windows-1252).
//  - At the first non-ASCII byte the encoding is decided once and for all: if that byte
//    starts a well-formed UTF-8 sequence (the sequence may be split across chunks; up to
//    3 bytes are held back until it is complete) the file is UTF-8; otherwise it is
//    Windows-1252, as Excel saves "CSV (separado por vírgulas)" in Brazil.
//  - In UTF-8 mode every later chunk is validated (node:buffer isUtf8, the same rules as a
//    fatal TextDecoder: no overlongs, no surrogates, nothing above U+10FFFF) and passed on
//    as is; the first invalid byte raises CsvFileError('invalid_utf8') after the valid bytes
//    before it have been passed on, so the caller can name the row it is in.
//  - In Windows-1252 mode, as text: Latin-1 with bytes 0x80–0x9F mapped through a table
//    built once from iconv-lite (the only bytes where the two differ). As UTF-8 bytes: each
//    byte is transcoded through a 128-entry table built
//    once from iconv-lite's win1252 codec (undefined bytes 81 8D 8F 90 9D become U+FFFD,
//    as iconv-lite decodes them): the same text as iconv-lite's decoder followed by
//    Buffer.from(text), at a fraction of the cost, since the table maps bytes straight to
//    bytes. Windows-1252 has no multi-byte sequences, so chunk boundaries do not matter.
import { Buffer, isAscii, isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { CsvFileError } from './csv-file-error.js';

/** `ascii` while no non-ASCII byte has been seen (the file is then valid as either). */
export type DetectedEncoding = 'ascii' | 'utf-8' | 'windows-1252';

export type Utf8Sink = (utf8: Buffer) => void;

const SAVE_AS_CSV = 'salve a planilha como CSV: no Excel, Arquivo › Salvar como › "CSV (separado por vírgulas)" ou "CSV UTF-8"';

export const MESSAGES = {
  spreadsheetXlsx: `o arquivo é uma planilha do Excel (.xlsx) ou outro arquivo compactado, não um CSV; ${SAVE_AS_CSV}, e envie de novo`,
  spreadsheetXls: `o arquivo é uma planilha do Excel no formato antigo (.xls), não um CSV; ${SAVE_AS_CSV}, e envie de novo`,
  pdf: 'o arquivo é um PDF, não um CSV; exporte os dados da planilha como CSV (separado por vírgulas) e envie de novo',
  nul: 'o arquivo não é um CSV de texto (tem bytes nulos, típicos de arquivo binário ou de texto UTF-16); salve a planilha como CSV (separado por vírgulas) ou CSV UTF-8',
  utf16: 'o arquivo está em UTF-16 ("Texto Unicode"), que não é aceito; salve a planilha como "CSV UTF-8" ou "CSV (separado por vírgulas)"',
  invalidUtf8: (line: number | null) =>
    `arquivo com codificação inválida: começa como UTF-8, mas ${line === null ? 'uma linha' : `a linha ${line}`} tem bytes que não são UTF-8 (o arquivo mistura codificações); salve a planilha de novo como "CSV UTF-8" ou "CSV (separado por vírgulas)"`,
} as const;

/** Bytes needed by a UTF-8 sequence that starts with `lead` (0 if `lead` cannot start one). */
function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Is `b` allowed as the second byte of a sequence starting with `lead`? (RFC 3629 table) */
function secondByteOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/**
 * Whether `bytes` (starting at a non-ASCII byte) begins with a well-formed UTF-8 sequence:
 * `true`/`false`, or `null` when more bytes are needed to tell.
 */
export function startsWithUtf8Sequence(bytes: Uint8Array): boolean | null {
  const lead = bytes[0];
  if (lead === undefined) return null;
  const length = utf8SequenceLength(lead);
  if (length < 2) return false;
  for (let i = 1; i < length; i++) {
    const b = bytes[i];
    if (b === undefined) return null;
    if (i === 1 ? !secondByteOk(lead, b) : b < 0x80 || b > 0xbf) return false;
  }
  return true;
}

/** Offset of the first byte that is not part of well-formed UTF-8 (bytes.length if none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = utf8SequenceLength(lead);
    if (length === 0 || i + length > n) return i;
    if (!secondByteOk(lead, bytes[i + 1]!)) return i;
    for (let k = 2; k < length; k++) {
      const b = bytes[i + k]!;
      if (b < 0x80 || b > 0xbf) return i;
    }
    i += length;
  }
  return n;
}

/** Length of an incomplete UTF-8 sequence at the end of `bytes` (0–3), to hold back. */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 4 && back <= n; back++) {
    const b = bytes[n - back]!;
    if (b < 0x80) return 0; // ASCII: nothing pending
    if (b >= 0xc0) {
      // a lead byte (or an invalid one, which validation will catch)
      const need = utf8SequenceLength(b);
      return need > back ? back : 0;
    }
    // a continuation byte: keep looking back for its lead
  }
  return 0;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  if (bytes.length < signature.length) return false;
  for (let i = 0; i < signature.length; i++) if (bytes[i] !== signature[i]) return false;
  return true;
}

/** For each byte 0x80–0xFF: [length, b1, b2, b3] of its UTF-8 encoding. */
const WIN1252_TO_UTF8 = (() => {
  const table = new Uint8Array(128 * 4);
  for (let b = 0x80; b <= 0xff; b++) {
    const utf8 = Buffer.from(iconv.decode(Buffer.from([b]), 'win1252'), 'utf8');
    const at = (b - 0x80) * 4;
    table[at] = utf8.length;
    for (let k = 0; k < utf8.length && k < 3; k++) table[at + 1 + k] = utf8[k]!;
  }
  return table;
})();

/** Windows-1252 bytes as UTF-8 bytes. */
export function win1252ToUtf8(bytes: Uint8Array): Buffer {
  const n = bytes.length;
  const out = Buffer.allocUnsafe(n * 3);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b < 0x80) out[j++] = b;
    else {
      const at = (b - 0x80) * 4;
      const length = WIN1252_TO_UTF8[at]!;
      out[j++] = WIN1252_TO_UTF8[at + 1]!;
      if (length > 1) out[j++] = WIN1252_TO_UTF8[at + 2]!;
      if (length > 2) out[j++] = WIN1252_TO_UTF8[at + 3]!;
    }
  }
  return out.subarray(0, j);
}

/** The characters Windows-1252 gives bytes 0x80–0x9F (the only ones where it differs from Latin-1). */
const WIN1252_HIGH = (() => {
  const chars: string[] = [];
  for (let b = 0x80; b <= 0x9f; b++) chars.push(iconv.decode(Buffer.from([b]), 'win1252'));
  return chars;
})();
const C1 = /[\u0080-\u009f]/;
const C1_ALL = /[\u0080-\u009f]/g;
const fromC1 = (c: string): string => WIN1252_HIGH[c.charCodeAt(0) - 0x80]!;

/** Windows-1252 bytes as text: Latin-1, but for 0x80–0x9F (the same characters as iconv-lite's decoder). */
export function win1252ToString(bytes: Buffer): string {
  const latin1 = bytes.toString('latin1');
  return C1.test(latin1) ? latin1.replace(C1_ALL, fromC1) : latin1;
}

/** Where the decoder's output goes: bytes known to be UTF-8 (or ASCII), or Windows-1252 bytes. */
interface Output {
  utf8(bytes: Buffer): void;
  win1252(bytes: Buffer): void;
}

export type TextSink = (text: string) => void;

type Mode = 'start' | 'ascii' | 'deciding' | 'utf-8' | 'windows-1252';

/**
 * The sticky decoder. `write` and `end` call `sink` zero or more times with UTF-8 bytes,
 * synchronously, and throw CsvFileError on a whole-file problem.
 */
export class StickyDecoder {
  private mode: Mode = 'start';
  /** Bytes held back: the first few bytes (signature sniffing), an undecided or split sequence. */
  private pending: Buffer | null = null;
  private sawBytes = false;
  /** True when the file started with a UTF-8 BOM. */
  bom = false;

  get encoding(): DetectedEncoding {
    if (this.mode === 'utf-8' || this.mode === 'windows-1252') return this.mode;
    return 'ascii';
  }

  private utf8Output: Output | null = null;
  private textOutput: Output | null = null;

  /** Output as UTF-8 bytes. */
  write(chunk: Uint8Array, sink: Utf8Sink): void {
    this.writeTo(chunk, this.asUtf8(sink));
  }

  end(sink: Utf8Sink): void {
    this.endTo(this.asUtf8(sink));
  }

  /** Output as text (for a Windows-1252 file, without the detour through UTF-8 bytes). */
  writeText(chunk: Uint8Array, sink: TextSink): void {
    this.writeTo(chunk, this.asText(sink));
  }

  endText(sink: TextSink): void {
    this.endTo(this.asText(sink));
  }

  // Each sink is wrapped once (callers pass the same sink every time).
  private asUtf8(sink: Utf8Sink): Output {
    return (this.utf8Output ??= { utf8: sink, win1252: (bytes) => sink(win1252ToUtf8(bytes)) });
  }

  private asText(sink: TextSink): Output {
    // the UTF-8 bytes handed on are whole sequences: no state to carry between chunks
    return (this.textOutput ??= { utf8: (bytes) => sink(bytes.toString('utf8')), win1252: (bytes) => sink(win1252ToString(bytes)) });
  }

  private writeTo(chunk: Uint8Array, sink: Output): void {
    if (chunk.length === 0) return;
    this.sawBytes = true;
    let bytes = asBuffer(chunk);
    // (in 'start' mode the NUL check waits for the signatures: an .xlsx has NULs too)
    if (this.mode !== 'start' && bytes.indexOf(0) !== -1) throw new CsvFileError('not_csv', MESSAGES.nul);
    if (this.pending !== null) {
      bytes = Buffer.concat([this.pending, bytes]);
      this.pending = null;
    }
    this.process(bytes, sink, false);
  }

  private endTo(sink: Output): void {
    const rest = this.pending;
    this.pending = null;
    if (rest !== null) this.process(rest, sink, true);
  }

  /** Whether any byte at all was written. */
  get empty(): boolean {
    return !this.sawBytes;
  }

  private process(bytes: Buffer, sink: Output, final: boolean): void {
    // May loop once or twice as the mode changes within one chunk.
    for (;;) {
      switch (this.mode) {
        case 'start': {
          if (bytes.length < 4 && !final) {
            this.pending = bytes;
            return;
          }
          this.checkSignature(bytes);
          if (bytes.indexOf(0) !== -1) throw new CsvFileError('not_csv', MESSAGES.nul);
          if (startsWith(bytes, [0xef, 0xbb, 0xbf])) {
            this.bom = true;
            this.mode = 'utf-8';
            bytes = bytes.subarray(3);
          } else {
            this.mode = 'ascii';
          }
          continue;
        }
        case 'ascii': {
          if (isAscii(bytes)) {
            if (bytes.length > 0) sink.utf8(bytes);
            return;
          }
          let k = 0;
          while (bytes[k]! < 0x80) k++;
          if (k > 0) sink.utf8(bytes.subarray(0, k));
          bytes = bytes.subarray(k);
          this.mode = 'deciding';
          continue;
        }
        case 'deciding': {
          const utf8 = startsWithUtf8Sequence(bytes);
          if (utf8 === null && !final) {
            this.pending = bytes; // at most 3 bytes: an incomplete sequence
            return;
          }
          if (utf8 === true) {
            this.mode = 'utf-8';
          } else {
            this.mode = 'windows-1252';
          }
          continue;
        }
        case 'utf-8': {
          const hold = final ? 0 : incompleteTail(bytes);
          const body = hold > 0 ? bytes.subarray(0, bytes.length - hold) : bytes;
          if (!isUtf8(body)) {
            const bad = firstInvalidUtf8(body);
            if (bad > 0) sink.utf8(body.subarray(0, bad));
            throw new CsvFileError('invalid_utf8', MESSAGES.invalidUtf8(null));
          }
          if (body.length > 0) sink.utf8(body);
          if (hold > 0) this.pending = Buffer.from(bytes.subarray(bytes.length - hold));
          return;
        }
        case 'windows-1252': {
          if (bytes.length > 0) sink.win1252(bytes);
          return;
        }
      }
    }
  }

  private checkSignature(bytes: Buffer): void {
    if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
      throw new CsvFileError('utf16', MESSAGES.utf16);
    }
    // "PK\x03\x04" (a zip: .xlsx, .ods, .docx…), also the empty / spanned zip signatures
    if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]) || startsWith(bytes, [0x50, 0x4b, 0x07, 0x08])) {
      throw new CsvFileError('spreadsheet', MESSAGES.spreadsheetXlsx);
    }
    if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0])) throw new CsvFileError('spreadsheet', MESSAGES.spreadsheetXls);
    if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46])) throw new CsvFileError('not_csv', MESSAGES.pdf);
  }
}

/**
 * The same decoder as a Transform stream: bytes in, UTF-8 bytes out; a whole-file problem
 * destroys the stream with the CsvFileError. `encoding` is readable once the stream ends.
 */
export class StickyDecodeStream extends Transform {
  readonly decoder = new StickyDecoder();
  private readonly sink: Utf8Sink = (utf8) => {
    this.push(utf8);
  };

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.write(chunk, this.sink);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.end(this.sink);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  get encoding(): DetectedEncoding {
    return this.decoder.encoding;
  }
}
