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

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [iso, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(iso);
    if (typeof id !== 'string' || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
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
