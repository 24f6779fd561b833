// Cursor pagination, newest first: the cursor is the (created_at, id) of the last row shown.
import { z } from 'zod';
import { errors } from './errors.js';

export const pageQuerySchema = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('1–500, default 50'),
  cursor: z.string().max(200).optional().describe('next_cursor from the previous page'),
};

export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/** The id shape of lists keyed by a uuid column: anything else would reach PostgreSQL as a bad uuid (a 500). */
export const UUID_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The cursor `encodeCursor` wrote, or 422; `idPattern` is the shape of the list's ids. */
export function decodeCursor(cursor: string | undefined, idPattern: RegExp = TOKEN_ID): Cursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error('bad cursor');
    const [iso, id] = decoded as unknown[];
    if (typeof iso !== 'string' || typeof id !== 'string' || !idPattern.test(id)) throw new Error('bad cursor');
    const createdAt = new Date(iso);
    // A four-digit year too: '+275760-…' and '-000001-…' round-trip in JavaScript, but PostgreSQL refuses them (a 500).
    if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso || !/^\d{4}-/.test(iso)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw errors.unprocessable('The cursor is not one this API handed out.', [{ path: 'cursor', message: 'invalid cursor' }]);
  }
}

/** Takes `limit + 1` rows (newest first) and answers one page. */
export function page<Row extends { createdAt: Date; id: string }, Out>(rows: Row[], limit: number, map: (row: Row) => Out): { data: Out[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  return { data: shown.map(map), next_cursor: more ? encodeCursor(shown[shown.length - 1]!) : null };
}

export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() });
}
