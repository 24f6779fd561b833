// The sticky encoding decoder and the external_id registry of the portfolio CSV reader.
import { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { CsvFileError } from '../../src/modules/portfolio/csv-file-error.js';
import { firstInvalidUtf8, startsWithUtf8Sequence, StickyDecoder, StickyDecodeStream, win1252ToString, win1252ToUtf8 } from '../../src/modules/portfolio/decode.js';
import { IdRegistry } from '../../src/modules/portfolio/id-registry.js';
import { chunked } from '../fixtures/csv/support.js';

function decode(chunks: Iterable<Uint8Array>): { text: string; decoder: StickyDecoder } {
  const decoder = new StickyDecoder();
  const out: Buffer[] = [];
  const sink = (b: Buffer) => out.push(Buffer.from(b));
  for (const chunk of chunks) decoder.write(chunk, sink);
  decoder.end(sink);
  return { text: Buffer.concat(out).toString('utf8'), decoder };
}

function splitRandomly(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let previous = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(previous, p));
    previous = p;
  }
  chunks.push(bytes.subarray(previous));
  return chunks;
}

// Letters whose Windows-1252 bytes never begin a valid UTF-8 sequence when followed by text.
const PT_LETTERS = 'abcçdeéêfghiíjlmnoóôõpqrstuúvxzãáàâÁÉÍÓÚÂÊÔÃÕÇ ;,\n"0123456789';

describe('StickyDecoder', () => {
  it('passes ASCII through and reports it undecided', () => {
    const { text, decoder } = decode([Buffer.from('a;b\r\nc;d\n')]);
    expect(text).toBe('a;b\r\nc;d\n');
    expect(decoder.encoding).toBe('ascii');
  });

  it('UTF-8 text round-trips under any chunking, with or without BOM', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (text, cuts, bom) => {
        fc.pre(!text.includes('\u0000') && !text.startsWith('\ufeff'));
        const bytes = Buffer.from((bom ? '\ufeff' : '') + text, 'utf8');
        const result = decode(splitRandomly(bytes, cuts));
        expect(result.text).toBe(text);
        expect(result.decoder.bom).toBe(bom);
        if (!/^\p{ASCII}*$/u.test(text) || bom) expect(result.decoder.encoding).toBe('utf-8');
      }),
      { numRuns: 1000 },
    );
  });

  it('Windows-1252 Portuguese text round-trips under any chunking', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...PT_LETTERS), maxLength: 80 }), fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const result = decode(splitRandomly(iconv.encode(text, 'win1252'), cuts));
        expect(result.text).toBe(text);
        if (!/^\p{ASCII}*$/u.test(text)) expect(result.decoder.encoding).toBe('windows-1252');
      }),
      { numRuns: 1000 },
    );
  });

  it('decides at the first non-ASCII byte, however late, one byte at a time', () => {
    const ascii = 'x;'.repeat(50_000);
    const cp = decode(chunked(iconv.encode(`${ascii}ação;€`, 'win1252'), 1));
    expect(cp.text).toBe(`${ascii}ação;€`);
    expect(cp.decoder.encoding).toBe('windows-1252');
    const utf = decode(chunked(Buffer.from(`${ascii}—🍇`), 1));
    expect(utf.text).toBe(`${ascii}—🍇`);
    expect(utf.decoder.encoding).toBe('utf-8');
    // a lone lead byte at the very end is Windows-1252 (Ã)
    expect(decode([Buffer.from([0x61, 0xc3])]).text).toBe('aÃ');
  });

  it('after deciding UTF-8, a byte that is not UTF-8 is a whole-file error, after the valid bytes before it', () => {
    const decoder = new StickyDecoder();
    const out: Buffer[] = [];
    const bytes = Buffer.concat([Buffer.from('ação\n'), Buffer.from('ok\n'), Buffer.from([0xe7, 0x61])]);
    expect(() => {
      for (const chunk of chunked(bytes, 3)) decoder.write(chunk, (b) => out.push(Buffer.from(b)));
    }).toThrow(CsvFileError);
    expect(Buffer.concat(out).toString()).toBe('ação\nok\n');
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const d = new StickyDecoder();
      expect(() => {
        d.write(Buffer.from('é'), () => {});
        d.write(Buffer.from(bad), () => {});
        d.end(() => {});
      }).toThrow(expect.objectContaining({ code: 'invalid_utf8' }));
    }
  });

  it('refuses spreadsheets, UTF-16, PDF and binary by their first bytes, even split', () => {
    const cases: Array<[number[], string]> = [
      [[0x50, 0x4b, 0x03, 0x04, 0x14, 0], 'spreadsheet'],
      [[0xd0, 0xcf, 0x11, 0xe0, 0xa1], 'spreadsheet'],
      [[0xff, 0xfe, 0x61, 0x00], 'utf16'],
      [[0xfe, 0xff, 0x00, 0x61], 'utf16'],
      [[0x25, 0x50, 0x44, 0x46, 0x2d, 0x31], 'not_csv'],
      [[0x61, 0x3b, 0x00, 0x62], 'not_csv'],
    ];
    for (const [bytes, code] of cases) {
      expect(() => decode(chunked(Buffer.from(bytes), 1))).toThrow(expect.objectContaining({ code }));
      expect(() => decode([Buffer.from(bytes)])).toThrow(expect.objectContaining({ code }));
    }
  });

  it('win1252ToUtf8 ≡ iconv-lite decode + UTF-8 encode, for every byte', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(win1252ToUtf8(all).equals(Buffer.from(iconv.decode(all, 'win1252'), 'utf8'))).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(win1252ToUtf8(bytes).equals(Buffer.from(iconv.decode(Buffer.from(bytes), 'win1252'), 'utf8'))).toBe(true);
      }),
    );
  });

  it('win1252ToString ≡ iconv-lite decode, for every byte', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(win1252ToString(all)).toBe(iconv.decode(all, 'win1252'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(win1252ToString(Buffer.from(bytes))).toBe(iconv.decode(Buffer.from(bytes), 'win1252'));
      }),
    );
  });

  it('writeText gives the same text as write, in any chunking', () => {
    const text = 'Código;Nome\r\nA;João Conceição — “ação” €\r\n';
    for (const bytes of [iconv.encode(text, 'win1252'), Buffer.from(text, 'utf8'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])]) {
      for (const size of [1, 2, 3, 7, 1024]) {
        const decoder = new StickyDecoder();
        let out = '';
        for (const chunk of chunked(bytes, size)) decoder.writeText(chunk, (t) => (out += t));
        decoder.endText((t) => (out += t));
        expect(out).toBe(text);
        expect(out).toBe(decode(chunked(bytes, size)).text);
      }
    }
  });

  it('UTF-8 helpers agree with Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(firstInvalidUtf8(bytes) === bytes.length).toBe(isUtf8(bytes));
        if (bytes.length > 0 && bytes[0]! >= 0x80) {
          const starts = startsWithUtf8Sequence(bytes);
          if (starts === true) expect(firstInvalidUtf8(bytes)).not.toBe(0);
          if (starts === false) expect(firstInvalidUtf8(bytes)).toBe(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is also a Transform stream', async () => {
    const stream = Readable.from([iconv.encode('Código;', 'win1252'), iconv.encode('Descrição\n', 'win1252')]).pipe(new StickyDecodeStream());
    expect((await collect(stream)).toString()).toBe('Código;Descrição\n');
    expect(stream.encoding).toBe('windows-1252');
    const bad = Readable.from([Buffer.from([0x50, 0x4b, 0x03, 0x04])]).pipe(new StickyDecodeStream());
    await expect(collect(bad)).rejects.toMatchObject({ code: 'spreadsheet' });
  });
});

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('IdRegistry', () => {
  it('behaves like a Map from id to its first line', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('A', 'a', 'ção', '🍇', 'x'.repeat(64))), { maxLength: 300 }), (ids) => {
        const registry = new IdRegistry();
        const map = new Map<string, number>();
        ids.forEach((id, i) => {
          const line = i + 2;
          const expected = map.get(id) ?? 0;
          if (!map.has(id)) map.set(id, line);
          expect(registry.claim(id, line)).toBe(expected);
        });
        expect(registry.size).toBe(map.size);
      }),
      { numRuns: 300 },
    );
  });

  it('holds 300,000 ids exactly, in little memory', () => {
    const registry = new IdRegistry();
    let wrong = 0;
    for (let i = 0; i < 300_000; i++) if (registry.claim(`CTR-${i}`, i + 2) !== 0) wrong++;
    for (let i = 0; i < 300_000; i += 7) if (registry.claim(`CTR-${i}`, 1) !== i + 2) wrong++;
    expect(wrong).toBe(0);
    expect(registry.size).toBe(300_000);
    expect(registry.claim('CTR-300000', 5)).toBe(0);
    expect(registry.byteLength).toBeLessThan(300_000 * 60); // a Map<string, number> takes ~62 bytes an id, on the heap
  });
});
