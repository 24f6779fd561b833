// The external_ids already seen in one file, with the row of their first appearance.
//
// An exact set (no false positives: a repeat is a rejection the user will read), kept off
// the JavaScript heap: the ids' UTF-8 bytes in one growing byte arena and an open-addressing
// hash table (linear probing, FNV-1a) in typed arrays. About 30 bytes per id of 12
// characters, against ~62 for a Map<string, number> holding a million strings, and nothing
// for the garbage collector to trace on every major collection.
import { Buffer } from 'node:buffer';

/** Longest id accepted, in UTF-16 code units (external_id is 1–64 characters). */
const MAX_ID_UNITS = 128;

function grow<T extends Uint8Array | Int32Array | Uint16Array>(array: T, minLength: number, make: (length: number) => T): T {
  let length = array.length;
  while (length < minLength) length *= 2;
  if (length === array.length) return array;
  const bigger = make(length);
  bigger.set(array);
  return bigger;
}

export class IdRegistry {
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private starts = new Int32Array(1024);
  private lengths = new Uint16Array(1024);
  private lines = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  private count = 0;
  /** entry index + 1, 0 = empty slot */
  private table = new Int32Array(2048);
  private mask = 2047;
  private readonly scratch = Buffer.allocUnsafe(MAX_ID_UNITS * 3);

  get size(): number {
    return this.count;
  }

  /** Bytes held in typed arrays. */
  get byteLength(): number {
    return this.arena.byteLength + this.starts.byteLength + this.lengths.byteLength + this.lines.byteLength + this.hashes.byteLength + this.table.byteLength;
  }

  /**
   * If `id` was seen, the line recorded for it; otherwise records it with `line` (≥ 1) and
   * returns 0.
   */
  claim(id: string, line: number): number {
    const length = this.encode(id);
    const bytes = this.scratch;
    let hash = 0x811c9dc5 | 0;
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    let slot = hash & this.mask;
    for (;;) {
      const entry = this.table[slot]! - 1;
      if (entry < 0) break;
      if (this.hashes[entry] === hash && this.lengths[entry] === length) {
        const start = this.starts[entry]!;
        let same = true;
        for (let i = 0; i < length; i++) {
          if (this.arena[start + i] !== bytes[i]) {
            same = false;
            break;
          }
        }
        if (same) return this.lines[entry]!;
      }
      slot = (slot + 1) & this.mask;
    }
    this.insert(slot, hash, length, line);
    return 0;
  }

  /** UTF-8 bytes of `id` into the scratch buffer; their count. */
  private encode(id: string): number {
    if (id.length > MAX_ID_UNITS) throw new RangeError(`IdRegistry: id longer than ${MAX_ID_UNITS} code units`);
    const bytes = this.scratch;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) return bytes.write(id, 0, 'utf8');
      bytes[i] = c;
    }
    return id.length;
  }

  private insert(slot: number, hash: number, length: number, line: number): void {
    const entry = this.count;
    if (entry === this.starts.length) {
      const n = entry * 2;
      this.starts = grow(this.starts, n, (l) => new Int32Array(l));
      this.lengths = grow(this.lengths, n, (l) => new Uint16Array(l));
      this.lines = grow(this.lines, n, (l) => new Int32Array(l));
      this.hashes = grow(this.hashes, n, (l) => new Int32Array(l));
    }
    this.arena = grow(this.arena, this.arenaUsed + length, (l) => new Uint8Array(l));
    this.arena.set(this.scratch.subarray(0, length), this.arenaUsed);
    this.starts[entry] = this.arenaUsed;
    this.lengths[entry] = length;
    this.lines[entry] = line;
    this.hashes[entry] = hash;
    this.arenaUsed += length;
    this.count++;
    this.table[slot] = entry + 1;
    if (this.count * 2 > this.table.length) this.rehash();
  }

  private rehash(): void {
    const size = this.table.length * 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let entry = 0; entry < this.count; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = entry + 1;
    }
    this.table = table;
    this.mask = mask;
  }
}
