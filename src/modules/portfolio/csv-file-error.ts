// A problem with the uploaded file as a whole: the import fails and changes nothing.
// `message` is Portuguese and meant for the person who uploaded the file.

export type CsvFileErrorCode =
  | 'empty' // no bytes, or only a BOM / blank lines
  | 'spreadsheet' // .xlsx / .ods / .xls / a zip: "salve a planilha como CSV"
  | 'not_csv' // binary content (NUL bytes, PDF…)
  | 'utf16' // a UTF-16 (or UTF-32) byte order mark
  | 'invalid_utf8' // began as UTF-8, then a byte sequence that is not UTF-8
  | 'header' // no usable header line
  | 'missing_columns' // a required column is absent from the header
  | 'duplicate_column' // two header cells mean the same contract column
  | 'syntax' // CSV that cannot be read reliably (unclosed quote, record too long)
  | 'no_rows'; // a header and no data row

export class CsvFileError extends Error {
  override name = 'CsvFileError';
  constructor(
    readonly code: CsvFileErrorCode,
    message: string,
    /** The spreadsheet row where the problem was found, when there is one. */
    readonly line: number | null = null,
  ) {
    super(message);
  }
}
