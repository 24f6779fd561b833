// The external_ids already seen in one file, with the row of their first appearance.
//
// An exact set (no false positives: a repeat is a rejection the user will read), kept off
// the JavaScript heap: the ids' UTF-8 bytes in one growing byte arena and an open-addressing
// hash table (linear probing, FNV-1a) in typed arrays. About 44 bytes per id of 12
// characters (44 MB for a million, the arrays grown by doubling), against ~62 for a
// Map<string, number> holding a million strings, and nothing for the garbage collector to
// trace on every major collection.
//
// With a million ids nearly every probe of the table is a cache miss, and that is most of
// the cost of a claim: each slot holds the entry's hash next to its number, so that a probe
// past other ids reads that one cache line and not the entry arrays too.
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
  private count = 0;
  /** Two int32 per slot: entry index + 1 (0 = empty slot), then the entry's hash. */
  private table = new Int32Array(2 * 2048);
  private mask = 2047;
  private readonly scratch = Buffer.allocUnsafe(MAX_ID_UNITS * 3);

  get size(): number {
    return this.count;
  }

  /** Bytes held in typed arrays. */
  get byteLength(): number {
    return this.arena.byteLength + this.starts.byteLength + this.lengths.byteLength + this.lines.byteLength + this.table.byteLength;
  }

  /**
   * If `id` was seen, the line recorded for it; otherwise records it with `line` (≥ 1) and
   * returns 0.
   */
  claim(id: string, line: number): number {
    if (id.length > MAX_ID_UNITS) throw new RangeError(`IdRegistry: id longer than ${MAX_ID_UNITS} code units`);
    const bytes = this.scratch;
    // An ASCII id is its own UTF-8: copied and hashed in one pass; any other is encoded first.
    let length = id.length;
    let hash = 0x811c9dc5 | 0;
    for (let i = 0; i < length; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) {
        length = bytes.write(id, 0, 'utf8');
        hash = 0x811c9dc5 | 0;
        for (let k = 0; k < length; k++) hash = Math.imul(hash ^ bytes[k]!, 0x01000193);
        break;
      }
      bytes[i] = c;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    const table = this.table;
    let slot = hash & this.mask;
    for (;;) {
      const entry = table[2 * slot]! - 1;
      if (entry < 0) break;
      if (table[2 * slot + 1] === hash && this.lengths[entry] === length) {
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

  private insert(slot: number, hash: number, length: number, line: number): void {
    const entry = this.count;
    if (entry === this.starts.length) {
      const n = entry * 2;
      this.starts = grow(this.starts, n, (l) => new Int32Array(l));
      this.lengths = grow(this.lengths, n, (l) => new Uint16Array(l));
      this.lines = grow(this.lines, n, (l) => new Int32Array(l));
    }
    // (checked here so that the common case allocates no closure; a loop, not set(subarray()),
    // so that it allocates no view either: ids are a few bytes)
    if (this.arenaUsed + length > this.arena.length) this.arena = grow(this.arena, this.arenaUsed + length, (l) => new Uint8Array(l));
    const arena = this.arena;
    const bytes = this.scratch;
    const at = this.arenaUsed;
    for (let i = 0; i < length; i++) arena[at + i] = bytes[i]!;
    this.starts[entry] = at;
    this.lengths[entry] = length;
    this.lines[entry] = line;
    this.arenaUsed += length;
    this.count++;
    this.table[2 * slot] = entry + 1;
    this.table[2 * slot + 1] = hash;
    if (this.count * 2 > this.mask + 1) this.rehash();
  }

  private rehash(): void {
    const slots = (this.mask + 1) * 2;
    const table = new Int32Array(2 * slots);
    const mask = slots - 1;
    const old = this.table;
    for (let s = 0; s < old.length; s += 2) {
      const entry = old[s]!;
      if (entry === 0) continue;
      const hash = old[s + 1]!;
      let slot = hash & mask;
      while (table[2 * slot] !== 0) slot = (slot + 1) & mask;
      table[2 * slot] = entry;
      table[2 * slot + 1] = hash;
    }
    this.table = table;
    this.mask = mask;
  }
}
