// Portfolio CSV intake speed: csv-parse alone vs readDebtCsv (decode + parse + validate),
// readDebtCsvBatches, and DebtCsvParser driven as the import service drives it (8 KiB
// writes, `take` after each, no async generator per event), on a generated 1,000,000-row Excel-style file (`;`, decimal comma, DD/MM/YYYY, Windows-1252
// accents). Each side runs in its own child process so that its peak RSS is its own.
//
//   npx tsx bench/csv-parse.ts [rows]
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { Parser } from 'csv-parse';
import { completeCpf } from '../src/lib/documents.js';
import { DebtCsvParser, readDebtCsv, readDebtCsvBatches } from '../src/modules/portfolio/csv-reader.js';

const TODAY = '2026-06-15';

function cpfFor(i: number): string {
  return completeCpf(String(100_000_000 + ((i * 7919) % 899_999_999)).padStart(9, '0'));
}

const FIRST = ['João', 'Maria', 'José', 'Ana', 'Antônio', 'Francisca', 'Luís', 'Márcia', 'Sebastião', 'Conceição'];
const DDD = [11, 21, 31, 41, 51, 61, 71, 81, 85, 92];
const LAST = ['da Silva', 'Gonçalves', 'Araújo', 'Conceição', 'Magalhães', 'Simões', 'Assunção', 'Lopes', 'Brandão', 'Sousa'];

async function generate(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  let text = 'Código;CPF;Nome;E-mail;Telefone;Valor;Vencimento;Descrição\r\n';
  for (let i = 0; i < rows; i++) {
    const name = `${FIRST[i % 10]} ${LAST[Math.floor(i / 10) % 10]}`;
    const cpf = i % 997 === 0 ? '123.456.789-00' : cpfFor(i); // ~0.1 % bad check digits
    const phone = i % 3 === 0 ? '' : `(${DDD[i % 10]}) 9${String(1000 + (i % 9000))}-${String(i % 10000).padStart(4, '0')}`;
    const email = i % 2 === 0 ? `cliente${i}@exemplo.com.br` : '';
    const reais = 50 + (i % 20000);
    const amount = reais >= 1000 ? `${Math.floor(reais / 1000)}.${String(reais % 1000).padStart(3, '0')},${String(i % 100).padStart(2, '0')}` : `${reais},${String(i % 100).padStart(2, '0')}`;
    const due = `${String(1 + (i % 28)).padStart(2, '0')}/${String(1 + (i % 12)).padStart(2, '0')}/${2022 + (i % 4)}`;
    const description = i % 5 === 0 ? '"Mensalidade; parcela em atraso"' : 'Crediário loja Centro';
    text += `CTR-${String(i).padStart(8, '0')};${cpf};${name};${email};${phone};${amount};${due};${description}\r\n`;
    if (text.length > 1 << 20) {
      if (!out.write(iconv.encode(text, 'win1252'))) await once(out, 'drain');
      text = '';
    }
  }
  out.end(iconv.encode(text, 'win1252'));
  await once(out, 'finish');
}

interface PhaseResult {
  phase: string;
  records: number;
  rejected: number;
  seconds: number;
  /** user + system CPU seconds: steadier than wall time on a shared machine */
  cpuSeconds: number;
  maxRssMB: number;
}

async function phase(name: string, file: string): Promise<PhaseResult> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let records = 0;
  let rejected = 0;
  if (name === 'csv-parse') {
    const parser = createReadStream(file).pipe(new Parser({ delimiter: ';', relax_column_count: true, skip_empty_lines: true }));
    for await (const record of parser) {
      void record;
      records++;
    }
    records--; // the header
  } else if (name === 'readDebtCsv') {
    for await (const event of readDebtCsv(createReadStream(file), { today: TODAY })) {
      records++;
      if (event.type === 'rejected') rejected++;
    }
  } else if (name === 'DebtCsvParser') {
    const engine = new DebtCsvParser({ today: TODAY });
    const count = (): void => {
      for (const event of engine.take()) {
        records++;
        if (event.type === 'rejected') rejected++;
      }
    };
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      const bytes = chunk as Buffer;
      for (let offset = 0; offset < bytes.length; offset += 8 * 1024) {
        engine.write(bytes.subarray(offset, offset + 8 * 1024));
        count();
      }
    }
    engine.end();
    count();
  } else {
    for await (const batch of readDebtCsvBatches(createReadStream(file), { today: TODAY, batchSize: 5000 })) {
      records += batch.rows.length + batch.rejected.length;
      rejected += batch.rejected.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { phase: name, records, rejected, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

async function runChild(name: string, file: string): Promise<PhaseResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--phase', name, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [PhaseResult];
  await once(child, 'exit');
  return message;
}

const phaseIndex = process.argv.indexOf('--phase');
if (phaseIndex !== -1) {
  const result = await phase(process.argv[phaseIndex + 1]!, process.argv[phaseIndex + 2]!);
  process.send!(result);
} else {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'quita-bench-csv-'));
  const file = join(dir, 'carteira.csv');
  try {
    const t0 = performance.now();
    await generate(file, rows);
    const size = statSync(file).size;
    console.log(`generated ${rows.toLocaleString('en')} rows, ${(size / 2 ** 20).toFixed(1)} MiB (Windows-1252, ';') in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`machine: ${cpus().length} cpus, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), node ${process.version}, ${new Date().toISOString()}`);
    const results: PhaseResult[] = [];
    for (const name of ['csv-parse', 'readDebtCsv', 'readDebtCsvBatches', 'DebtCsvParser']) {
      const result = await runChild(name, file);
      results.push(result);
      const rate = (n: number) => Math.round(n).toLocaleString('en').padStart(9);
      console.log(
        `${name.padEnd(20)} ${result.records.toLocaleString('en')} rows (${result.rejected} rejected): ` +
          `${result.seconds.toFixed(2)} s wall = ${rate(result.records / result.seconds)} rows/s; ` +
          `${result.cpuSeconds.toFixed(2)} s CPU = ${rate(result.records / result.cpuSeconds)} rows/CPU-s; peak RSS ${result.maxRssMB.toFixed(0)} MB`,
      );
    }
    const [base] = results;
    for (const result of results.slice(1)) {
      console.log(
        `ratio ${result.phase} / csv-parse: wall ${(base!.seconds / result.seconds).toFixed(2)}, CPU ${(base!.cpuSeconds / result.cpuSeconds).toFixed(2)} (of csv-parse's speed)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
