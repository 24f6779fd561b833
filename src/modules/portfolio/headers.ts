// The portfolio CSV header: column names (contract §5), delimiter detection, mapping.
import { CsvFileError } from './csv-file-error.js';
import { DEBT_COLUMNS, REQUIRED_COLUMNS, type DebtColumn } from './debt-row.js';

/**
 * Header names as the contract lists them, contract name first. They are compared after
 * `normalizeHeader`, so `E-mail`, `Data_Vencimento`, ` Descrição ` all match.
 */
export const COLUMN_NAMES: Readonly<Record<DebtColumn, readonly string[]>> = {
  external_id: ['external_id', 'id_externo', 'codigo', 'contrato'],
  cpf: ['cpf'],
  name: ['name', 'nome'],
  email: ['email', 'e-mail'],
  phone: ['phone', 'telefone', 'celular'],
  amount: ['amount', 'valor'],
  due_date: ['due_date', 'vencimento', 'data_vencimento'],
  description: ['description', 'descricao'],
};

/**
 * Lower case, without accents, spaces, `_` or `-` (nor a stray BOM, NBSP or quote marks
 * left by a cell such as ` "CPF"` that the CSV parser keeps literally).
 */
export function normalizeHeader(cell: string): string {
  return cell
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[\s_\-\ufeff\u00a0"']/g, '');
}

const BY_NORMALIZED = new Map<string, DebtColumn>();
for (const column of DEBT_COLUMNS) {
  for (const name of COLUMN_NAMES[column]) BY_NORMALIZED.set(normalizeHeader(name), column);
}

/** The contract column a header cell means, or null for an unknown (ignored) column. */
export function columnForHeader(cell: string): DebtColumn | null {
  return BY_NORMALIZED.get(normalizeHeader(cell)) ?? null;
}

export type Delimiter = ';' | ',';

/** Splits one line on `delimiter`, outside double quotes (quotes are not removed; enough to score). */
function splitOutsideQuotes(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (c === delimiter && !inQuotes) {
      cells.push(line.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(line.slice(start));
  return cells.map((cell) => cell.trim().replace(/^"(.*)"$/s, '$1'));
}

/**
 * Picks `;` or `,` from the header line. The delimiter that splits the header into more
 * recognised contract columns wins; on a tie (e.g. no known column at all), the one that
 * occurs more often outside quotes; on a further tie, `;` — what Excel in Portuguese writes.
 * Counting occurrences alone is not enough: a header such as `"Nome, completo";CPF` or a
 * one-column file would fool it, and the data rows are never used, since a decimal comma
 * (`1.234,56`) appears in every row of a `;` file.
 */
export function detectDelimiter(headerLine: string): Delimiter {
  let best: Delimiter = ';';
  let bestKnown = -1;
  let bestCells = -1;
  for (const delimiter of [';', ','] as const) {
    const cells = splitOutsideQuotes(headerLine, delimiter);
    const known = new Set(cells.map(columnForHeader).filter((c) => c !== null)).size;
    if (known > bestKnown || (known === bestKnown && cells.length > bestCells)) {
      best = delimiter;
      bestKnown = known;
      bestCells = cells.length;
    }
  }
  return best;
}

/** Where each contract column sits in a record (-1: absent). */
export type ColumnIndex = Readonly<Record<DebtColumn, number>>;

export interface HeaderMapping {
  index: ColumnIndex;
  /** How many cells the header has: a row with fewer lacks the last columns. */
  width: number;
}

function describeColumn(column: DebtColumn): string {
  const [contract, ...aliases] = COLUMN_NAMES[column];
  return aliases.length > 0 ? `${contract} (ou ${aliases.join(', ')})` : contract!;
}

/**
 * Maps the header cells to contract columns; throws CsvFileError when a required column is
 * missing (naming every missing one) or when two cells mean the same column.
 */
export function mapHeader(cells: readonly string[], delimiter: Delimiter): HeaderMapping {
  const index: Record<DebtColumn, number> = {
    external_id: -1,
    cpf: -1,
    name: -1,
    email: -1,
    phone: -1,
    amount: -1,
    due_date: -1,
    description: -1,
  };
  for (let i = 0; i < cells.length; i++) {
    const column = columnForHeader(cells[i]!);
    if (column === null) continue;
    const previous = index[column];
    if (previous !== -1) {
      throw new CsvFileError(
        'duplicate_column',
        `as colunas "${cells[previous]!.trim()}" e "${cells[i]!.trim()}" do cabeçalho são a mesma coluna (${column}); deixe só uma`,
        1,
      );
    }
    index[column] = i;
  }
  const missing = REQUIRED_COLUMNS.filter((column) => index[column] === -1);
  if (missing.length > 0) {
    const known = DEBT_COLUMNS.some((column) => index[column] !== -1);
    const line = cells.join(delimiter);
    let hint = '';
    if (!known) {
      hint = line.includes('\t')
        ? ' O arquivo parece separado por tabulações: salve como CSV, com ";" ou "," entre as colunas.'
        : ' A primeira linha do arquivo deve ser o cabeçalho, com os nomes das colunas.';
    }
    const list = missing.map(describeColumn).join('; ');
    throw new CsvFileError(
      'missing_columns',
      `${missing.length === 1 ? 'falta a coluna obrigatória' : 'faltam as colunas obrigatórias'}: ${list}.${hint}`,
      1,
    );
  }
  return { index, width: cells.length };
}
