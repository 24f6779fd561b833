// BinaryCopyWriter: its bytes against the COPY binary layout and independent oracles
// (Buffer.from for UTF-8, Date for day counts), and a round trip through COPY … FORMAT binary
// on the test database (PGlite, or PostgreSQL when DATABASE_URL is set) read back as text.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { BinaryCopyWriter, uuidBytes } from '../../src/db/copy-binary.js';
import { withRawTransaction, type RawTx } from '../../src/db/raw.js';
import { BATCH_COLUMNS } from '../../src/modules/portfolio/portfolio.merge.js';
import { createTestDatabase } from '../helpers/db.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = 19;

/** Days from 2000-01-01, by Date (setUTCFullYear, which takes years 0–99 as they are). */
function daysOracle(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return (t.getTime() - Date.UTC(2000, 0, 1)) / 86_400_000;
}

/** The bytes of one tuple's only field, from a writer that holds just that tuple. */
function onlyField(w: BinaryCopyWriter): Buffer {
  const data = w.finish();
  const length = data.readInt32BE(HEADER_BYTES + 2);
  return data.subarray(HEADER_BYTES + 6, HEADER_BYTES + 6 + Math.max(0, length));
}

function encodeOne(write: (w: BinaryCopyWriter) => void): BinaryCopyWriter {
  const w = new BinaryCopyWriter(64);
  w.row(1);
  write(w);
  return w;
}

const TEXTS: (string | null | undefined)[] = [
  '',
  null,
  undefined,
  'João Conceição',
  'preço: 12 € ✓',
  'emoji 😀 and 👩🏽‍💻',
  'lone high \ud800 here',
  'lone low \udc00 here',
  'ends high \ud83d',
  '\ude00 starts low',
  'pair then lone \ud83d\ude00\ud83d',
  'tab\there\nnewline\\backslash\r\\N',
  '\\N',
  // Past the native-write threshold, with the same hard cases.
  `Parcela 3 do carnê — referente a "maçã" ${'€✓😀'.repeat(5)} \ud800 lone, \udfff lone`,
  'x'.repeat(5000) + '😀',
];
const INTS = [0, 1, -1, 255, 256, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 123_456_789_012];
const DATES = ['1999-12-31', '2000-01-01', '1900-03-01', '2026-11-23', '2096-02-29', '2000-02-29', '2100-02-28', '1970-01-01', '0001-01-01', '9999-12-31', '1600-02-29'];
const UUIDS = [randomUUID(), randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'A0EEBC99-9c0b-4EF8-bb6d-6BB9BD380A11'];

describe('BinaryCopyWriter bytes', () => {
  it('header, tuple and trailer as the COPY binary format lays them out', () => {
    const w = new BinaryCopyWriter(64);
    expect(w.finish().equals(Buffer.concat([SIGNATURE, Buffer.alloc(8), Buffer.from([0xff, 0xff])]))).toBe(true);
    w.reset();
    w.row(3);
    w.int8(-2);
    w.text('é');
    w.nullField();
    const expected = Buffer.concat([
      SIGNATURE,
      Buffer.from('00000000' + '00000000', 'hex'),
      Buffer.from('0003', 'hex'),
      Buffer.from('00000008' + 'fffffffffffffffe', 'hex'),
      Buffer.from('00000002' + 'c3a9', 'hex'),
      Buffer.from('ffffffff', 'hex'),
      Buffer.from('ffff', 'hex'),
    ]);
    expect(w.finish().toString('hex')).toBe(expected.toString('hex'));
    expect(w.byteLength).toBe(expected.length);
    expect(w.rows).toBe(1);
  });

  it('text is the bytes Buffer.from writes, lone surrogates as U+FFFD, on both the loop and the native path', () => {
    for (const s of TEXTS) {
      if (s === null || s === undefined) continue;
      expect(onlyField(encodeOne((w) => w.text(s))).toString('hex')).toBe(Buffer.from(s, 'utf8').toString('hex'));
    }
    const units = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 80 });
    fc.assert(
      fc.property(units, (codes) => {
        const s = String.fromCharCode(...codes);
        expect(onlyField(encodeOne((w) => w.text(s))).equals(Buffer.from(s, 'utf8'))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(onlyField(encodeOne((w) => w.text('\ud800'))).toString('hex')).toBe('efbfbd');
  });

  it('int8 is 8 bytes of two’s complement, big-endian, for every safe integer', () => {
    for (const v of INTS) expect(onlyField(encodeOne((w) => w.int8(v))).readBigInt64BE()).toBe(BigInt(v));
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        expect(onlyField(encodeOne((w) => w.int8(v))).readBigInt64BE()).toBe(BigInt(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('date is int32 days from 2000-01-01, for every real date of years 1–9999', () => {
    expect(onlyField(encodeOne((w) => w.isoDate('1999-12-31'))).readInt32BE()).toBe(-1);
    expect(onlyField(encodeOne((w) => w.isoDate('2000-01-01'))).readInt32BE()).toBe(0);
    for (const d of DATES) expect(onlyField(encodeOne((w) => w.isoDate(d))).readInt32BE()).toBe(daysOracle(d));
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }), (t) => {
        const iso = t.toISOString().slice(0, 10);
        expect(onlyField(encodeOne((w) => w.isoDate(iso))).readInt32BE()).toBe(daysOracle(iso));
      }),
      { numRuns: 3000 },
    );
  });

  it('uuid is its 16 bytes', () => {
    expect(onlyField(encodeOne((w) => w.uuid(uuidBytes('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')))).toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
  });

  it('rejects dates that are not YYYY-MM-DD or do not exist', () => {
    const w = new BinaryCopyWriter(64);
    w.row(1);
    const bad = ['2023-02-29', '2023-13-01', '23-01-01', '2023-00-10', '2023-04-31', '2023-01-00', '2023-01-32', '0000-01-01', '1900-02-29', '2023-1-01', '2023-01-1', '2023/01/01', '2023-01-01 ', ' 2023-01-01', '2023-01-01T00:00', '+023-01-01', '2023-0a-01', '２０２３-01-01', '', '20230101'];
    for (const d of bad) expect(() => w.isoDate(d), d).toThrow(RangeError);
    // Nothing was written by the failed calls: the tuple still wants its field.
    expect(w.byteLength).toBe(HEADER_BYTES + 2);
  });

  it('rejects integers that are not safe', () => {
    const w = new BinaryCopyWriter(64);
    w.row(1);
    for (const v of [2 ** 53, -(2 ** 53), 1.5, -0.5, Number.NaN, Infinity, -Infinity, 1e300]) expect(() => w.int8(v), String(v)).toThrow(RangeError);
    expect(w.byteLength).toBe(HEADER_BYTES + 2);
  });

  it('rejects uuids that are not in canonical form, and byte arrays that are not 16 long', () => {
    const bad = ['', 'not-a-uuid', 'a0eebc999c0b4ef8bb6d6bb9bd380a11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ', 'a0eebc99-9c0b-4ef8-bb6d6-bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1'];
    for (const u of bad) expect(() => uuidBytes(u), u).toThrow(RangeError);
    const w = new BinaryCopyWriter(64);
    w.row(1);
    expect(() => w.uuid(new Uint8Array(15))).toThrow(RangeError);
    expect(() => w.uuid(new Uint8Array(17))).toThrow(RangeError);
  });

  it('holds tuples to their field count, and finish() to the end', () => {
    const w = new BinaryCopyWriter(64);
    w.row(2);
    w.text('a');
    expect(() => w.row(2)).toThrow(/missing 1/);
    expect(() => w.finish()).toThrow(/missing 1/);
    w.text('b');
    w.text('c');
    expect(() => w.finish()).toThrow(/over by 1/);
    w.reset();
    w.row(1);
    w.text('a');
    const data = w.finish();
    expect(w.finish()).toEqual(data);
    expect(() => w.row(1)).toThrow(/reset/);
  });

  it('grows from a tiny buffer, by doubling, keeping what it holds', () => {
    const w = new BinaryCopyWriter(1);
    const big = 'ç'.repeat(100_000);
    w.row(2);
    w.text(big);
    w.int8(7);
    const data = w.finish();
    expect(data.readInt32BE(HEADER_BYTES + 2)).toBe(200_000);
    expect(data.subarray(HEADER_BYTES + 6, HEADER_BYTES + 6 + 200_000).toString('utf8')).toBe(big);
    expect(data.readBigInt64BE(HEADER_BYTES + 6 + 200_000 + 4)).toBe(7n);
  });
});

describe('BinaryCopyWriter through COPY … WITH (FORMAT binary)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const COLUMNS = ['id', 'u', 't', 'n', 'd'] as const;
  const CREATE = 'CREATE TEMP TABLE copy_binary (id bigint, u uuid, t text, n bigint, d date) ON COMMIT DROP';
  interface Row {
    id: number;
    u: string | null;
    t: string | null | undefined;
    n: number;
    d: string;
  }
  function write(w: BinaryCopyWriter, rows: readonly Row[]): void {
    for (const r of rows) {
      w.row(5);
      w.int8(r.id);
      if (r.u === null) w.nullField();
      else w.uuid(uuidBytes(r.u));
      w.text(r.t);
      w.int8(r.n);
      w.isoDate(r.d);
    }
  }
  async function readBack(tx: RawTx) {
    return tx.query<{ id: string; u: string | null; t: string | null; hex: string | null; n: string; d: string; days: number }>(
      `SELECT id::text, u::text, t, encode(convert_to(t, 'UTF8'), 'hex') AS hex, n::text, d::text, d - DATE '2000-01-01' AS days FROM copy_binary ORDER BY copy_binary.id`,
    );
  }
  function expectRows(got: Awaited<ReturnType<typeof readBack>>, rows: readonly Row[]): void {
    expect(got).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const g = got[i]!;
      const text = r.t === null || r.t === undefined ? null : r.t;
      expect(
        { id: g.id, u: g.u, t: g.t, hex: g.hex, n: g.n, d: g.d, days: Number(g.days) },
        `row ${r.id}`,
      ).toEqual({
        id: String(r.id),
        u: r.u === null ? null : r.u.toLowerCase(),
        t: text === null ? null : Buffer.from(text, 'utf8').toString('utf8'),
        hex: text === null ? null : Buffer.from(text, 'utf8').toString('hex'),
        n: String(r.n),
        d: r.d,
        days: daysOracle(r.d),
      });
    });
  }

  /** The edge cases, each column cycling through its own, then enough rows to grow the buffer many times. */
  function edgeRows(): Row[] {
    const rows: Row[] = [];
    const count = Math.max(TEXTS.length, INTS.length, DATES.length, UUIDS.length + 1);
    for (let i = 0; i < count; i++) {
      rows.push({ id: i, u: i === UUIDS.length ? null : UUIDS[i % UUIDS.length]!, t: TEXTS[i % TEXTS.length], n: INTS[i % INTS.length]!, d: DATES[i % DATES.length]! });
    }
    for (let i = 0; i < 3000; i++) {
      const day = new Date(Date.UTC(1990, 0, 1) + i * 13 * 86_400_000).toISOString().slice(0, 10);
      rows.push({ id: 1000 + i, u: randomUUID(), t: `C${String(i).padStart(8, '0')} João Conceição ${i} ${i % 7 === 0 ? '😀\ud800' : '€'}`, n: (i - 1500) * 1_000_003_007, d: day });
    }
    return rows;
  }

  it('every value comes back exactly, from a writer grown from 64 bytes', async () => {
    const rows = edgeRows();
    const w = new BinaryCopyWriter(64);
    write(w, rows);
    const data = w.finish();
    expect(data.length).toBeGreaterThan(64 * 1024);
    const got = await withRawTransaction(database, async (tx) => {
      await tx.exec(CREATE);
      await tx.copyIn('copy_binary', COLUMNS, data, { format: 'binary' });
      return readBack(tx);
    });
    expectRows(got, rows);
  });

  it('after reset() the writer sends only the new rows, under a fresh header', async () => {
    const first = edgeRows().slice(0, 20);
    const second = edgeRows().slice(20, 50);
    const w = new BinaryCopyWriter(64);
    const got = await withRawTransaction(database, async (tx) => {
      await tx.exec(CREATE);
      write(w, first);
      await tx.copyIn('copy_binary', COLUMNS, w.finish(), { format: 'binary' });
      w.reset();
      expect(w.byteLength).toBe(0);
      expect(w.rows).toBe(0);
      write(w, second);
      const data = w.finish();
      expect(data.subarray(0, SIGNATURE.length).equals(SIGNATURE)).toBe(true);
      expect(w.rows).toBe(second.length);
      await tx.copyIn('copy_binary', COLUMNS, data, { format: 'binary' });
      return readBack(tx);
    });
    expectRows(got, [...first, ...second]);
  });

  it('an empty batch is valid COPY data (no rows)', async () => {
    const w = new BinaryCopyWriter(64);
    const count = await withRawTransaction(database, async (tx) => {
      await tx.exec(CREATE);
      await tx.copyIn('copy_binary', COLUMNS, w.finish(), { format: 'binary' });
      return tx.query<{ n: number }>('SELECT count(*)::int AS n FROM copy_binary');
    });
    expect(count[0]!.n).toBe(0);
  });

  it('fits the debts batch columns (uuid, six text, bigint, date), NULLs included', async () => {
    const creditor = randomUUID();
    const w = new BinaryCopyWriter(64);
    w.row(BATCH_COLUMNS.length);
    w.uuid(uuidBytes(creditor));
    w.text('C00000001');
    w.text('52998224725');
    w.text('João Conceição 123');
    w.text(null);
    w.text(null);
    w.int8(123_45);
    w.isoDate('2026-11-23');
    w.text('Parcela 3 do carnê');
    const got = await withRawTransaction(database, async (tx) => {
      await tx.exec(`CREATE TEMP TABLE copy_binary_debts ON COMMIT DROP AS SELECT ${BATCH_COLUMNS.join(', ')} FROM debts WITH NO DATA`);
      await tx.copyIn('copy_binary_debts', BATCH_COLUMNS, w.finish(), { format: 'binary' });
      return tx.query(`SELECT creditor_id::text, external_id, cpf, name, email, phone, amount_cents::text, due_date::text, description FROM copy_binary_debts`);
    });
    expect(got).toEqual([
      { creditor_id: creditor, external_id: 'C00000001', cpf: '52998224725', name: 'João Conceição 123', email: null, phone: null, amount_cents: '12345', due_date: '2026-11-23', description: 'Parcela 3 do carnê' },
    ]);
  });

  it('copyIn without options is still COPY text', async () => {
    const got = await withRawTransaction(database, async (tx) => {
      await tx.exec(CREATE);
      await tx.copyIn('copy_binary', COLUMNS, `1\t${UUIDS[0]}\tJoão\\tx\t-5\t1999-12-31\n`);
      return readBack(tx);
    });
    expect(got.map((r) => [r.id, r.t, r.n, r.d])).toEqual([['1', 'João\tx', '-5', '1999-12-31']]);
  });

  it('PostgreSQL refuses U+0000 in text, as in COPY text', async () => {
    const w = new BinaryCopyWriter(64);
    w.row(1);
    w.text('a\u0000b');
    await expect(
      withRawTransaction(database, async (tx) => {
        await tx.exec('CREATE TEMP TABLE copy_binary_nul (t text) ON COMMIT DROP');
        await tx.copyIn('copy_binary_nul', ['t'], w.finish(), { format: 'binary' });
      }),
    ).rejects.toThrow(/0x00/);
  });
});
