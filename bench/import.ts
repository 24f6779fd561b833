// npm run bench:import — a 1,000,000-row Excel-style CSV through POST /api/v1/imports on
// PostgreSQL, beside `psql \copy` of the same file into a table with the keys any debts
// table needs (the physical baseline) and into a bare table, in the same run; then the
// same import on PGlite for information. Prints times, ratios and the server's peak RSS.
//
// For information too, when PostgreSQL runs on this machine (its processes are in /proc):
// the CPU seconds each side used (the server process; the PostgreSQL backends of the run's
// database), which the machine's other load disturbs far less than wall time, and the
// `\copy` of the same file into a table shaped like `debts` (uuid-prefixed keys, identity,
// its defaults), with and without its foreign key to creditors: the floor of writing these
// rows into that table, whoever parses them.
//   ROWS=200000 npm run bench:import      (a smaller file)
//   BENCH_DATABASE_URL=postgres://…       (default postgres://postgres@127.0.0.1:5432/test)
//   ROUNDS=3                              (baseline-then-import rounds, each on a fresh
//                                          database; the median round's ratio is the result)
//   SKIP_PGLITE=1, SKIP_FLOOR=1           (leave those parts out)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import pg from 'pg';
import { completeCpf } from '../src/lib/documents.js';
import { ADMIN_TOKEN, buildIfStale, cpuSeconds, createDatabase, DEFAULT_DATABASE_URL, peakRssMb, ROOT, startServer, withClient } from './support.js';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 3));
const BASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const DATA = path.join(ROOT, 'bench', '.data');
const FILE = path.join(DATA, `carteira-${ROWS}.csv`);

function cpf(n: number): string {
  const s = completeCpf(String(100_000_000 + (n % 899_999_999)).slice(0, 9));
  return `${s.slice(0, 3)}.${s.slice(3, 6)}.${s.slice(6, 9)}-${s.slice(9)}`;
}

const NAMES = ['João Conceição', 'Maria Aparecida', 'José Antônio', 'Ana Lúcia', 'Antônio Gonçalves', 'Francisca Araújo', 'Luís Inácio', 'Márcia Simões'];

function generate(): void {
  if (existsSync(FILE)) return;
  mkdirSync(DATA, { recursive: true });
  const fd = openSync(FILE, 'w');
  writeSync(fd, iconv.encode('Código;CPF;Nome;Valor;Vencimento;Descrição\r\n', 'win1252'));
  let buf = '';
  const now = new Date();
  for (let i = 1; i <= ROWS; i++) {
    const cents = 1000 + ((i * 7919) % 2_000_000);
    const reais = Math.floor(cents / 100).toLocaleString('pt-BR');
    const daysAgo = 1 + ((i * 104_729) % 1500);
    const d = new Date(now.getTime() - daysAgo * 86_400_000);
    const due = `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`;
    buf += `C${String(i).padStart(8, '0')};${cpf(i * 37)};${NAMES[i % NAMES.length]} ${i % 997};${reais},${String(cents % 100).padStart(2, '0')};${due};Parcela ${i % 12 + 1} do carnê\r\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, iconv.encode(buf, 'win1252'));
      buf = '';
    }
  }
  writeSync(fd, iconv.encode(buf, 'win1252'));
  closeSync(fd);
}

const admin = <T>(fn: (c: pg.Client) => Promise<T>) => withClient(BASE_URL, fn);

/** Follows the CPU used by the PostgreSQL backends of one database while `until` runs. */
async function backendCpu<T>(db: string, until: Promise<T>): Promise<{ value: T; cpu: number }> {
  const seen = new Map<number, { first: number; last: number }>();
  const c = new pg.Client({ connectionString: BASE_URL });
  await c.connect();
  const own = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let done = false;
  const sample = async () => {
    const { rows } = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2 AND backend_type = 'client backend'", [db, own]);
    for (const { pid } of rows) {
      const cpu = cpuSeconds(pid);
      if (Number.isNaN(cpu)) continue;
      const entry = seen.get(pid);
      if (entry) entry.last = cpu;
      else seen.set(pid, { first: cpu, last: cpu });
    }
  };
  await sample();
  const loop = (async () => {
    while (!done) {
      await sample();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const value = await until;
    return { value, cpu: seen.size === 0 ? NaN : [...seen.values()].reduce((sum, e) => sum + e.last - e.first, 0) };
  } finally {
    done = true;
    await loop;
    await c.end();
  }
}

/**
 * Each measurement starts without the previous one's checkpoint or the kernel's writeback of
 * it to pay for (CHECKPOINT needs superuser or pg_checkpoint; skipped otherwise).
 */
async function checkpoint(): Promise<void> {
  await admin((c) => c.query('CHECKPOINT')).catch(() => {});
  try {
    execFileSync('sync');
  } catch {
    // no sync(1): the checkpoint alone
  }
}

function run(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}: ${stderr}`))));
  });
}

/**
 * `psql -c <copy>` after `psql -c <sql>`: its wall time, and the CPU its backend used (a
 * backend that does nothing but the \copy: its CPU is read until it ends).
 */
async function psqlCopy(url: string, db: string, sql: string, copy: string): Promise<{ seconds: number; cpu: number }> {
  execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: 'pipe' });
  await checkpoint();
  const started = process.hrtime.bigint();
  const { cpu } = await backendCpu(db, run(spawn('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', copy], { stdio: ['ignore', 'ignore', 'pipe'] })));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpu };
}

/** POSTs the file as text/csv; the status and body of the answer. */
function upload(url: string, authorization: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization, 'content-type': 'text/csv', 'content-length': String(statSync(FILE).size) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    createReadStream(FILE, { highWaterMark: 1 << 20 }).pipe(req);
  });
}

async function quitaImport(label: string, env: Record<string, string>, db?: string): Promise<{ seconds: number; rssMb: number; serverCpu: number; dbCpu: number; result: Record<string, unknown> }> {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const server = await startServer({ env, nodeArgs });
  const { base, pid } = server;
  try {
    const created = await (await fetch(`${base}/api/v1/admin/creditors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench Ltda', document: '11222333000181', address: { street: 'Rua A, 1', city: 'São Paulo', state: 'SP', postal_code: '01310100' }, email: 'bench@example.com' }),
    })).json() as { client_id: string; client_secret: string };
    const { access_token } = await (await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: created.client_id, client_secret: created.client_secret }) })).json() as { access_token: string };
    const auth = { authorization: `Bearer ${access_token}` };
    await checkpoint();
    const serverCpu0 = cpuSeconds(pid);
    const started = process.hrtime.bigint();
    let uploadSeconds = NaN;
    const importing = (async () => {
      // node:http with the file piped in: fetch() streaming a file body is a slow uploader
      // (about 1.2 s for this file, against 0.3 s here and for curl).
      const { status, body } = await upload(`${base}/api/v1/imports`, auth.authorization);
      if (status !== 202) throw new Error(`POST /api/v1/imports answered ${status}: ${body}`);
      const { id } = JSON.parse(body) as { id: string };
      uploadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (;;) {
        const result = await (await fetch(`${base}/api/v1/imports/${id}`, { headers: auth })).json() as Record<string, unknown>;
        if (result.status !== 'processing') return result;
        await new Promise((r) => setTimeout(r, 25)); // the finish is seen within 25 ms
      }
    })();
    const { value: result, cpu: dbCpu } = db ? await backendCpu(db, importing) : { value: await importing, cpu: NaN };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serverCpu = cpuSeconds(pid) - serverCpu0;
    const rssMb = peakRssMb(pid);
    delete result.errors;
    const cpu = Number.isNaN(serverCpu) ? '' : `; CPU: server ${serverCpu.toFixed(2)} s${Number.isNaN(dbCpu) ? '' : `, PostgreSQL ${dbCpu.toFixed(2)} s`}`;
    console.log(`  ${label}: ${seconds.toFixed(2)} s (upload ${uploadSeconds.toFixed(2)} s), ${result.status}, ${result.rows_imported} imported, ${result.rows_rejected} rejected, peak RSS ${rssMb.toFixed(0)} MB${cpu}`);
    if (result.status !== 'completed') throw new Error(`the import ended ${JSON.stringify(result)}`);
    return { seconds, rssMb, serverCpu, dbCpu, result };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`bench:import — ${ROWS.toLocaleString('en')} rows; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${new Date().toISOString()}`);
  generate();
  console.log(`  file: ${(statSync(FILE).size / 2 ** 20).toFixed(1)} MiB, Windows-1252, ';', decimal comma, DD/MM/YYYY`);
  buildIfStale();

  const copyOpts = `WITH (FORMAT csv, HEADER true, DELIMITER ';', ENCODING 'WIN1252')`;
  const cols = '(external_id, cpf, name, amount, due_date, description)';
  const cpuNote = (cpu: number) => (Number.isNaN(cpu) ? '' : `   (backend CPU ${cpu.toFixed(2)} s)`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

  // ROUNDS rounds, each on a fresh database: the baseline, then Quita's import right after
  // it, in the same conditions. The ratio reported is the median round's; every round is
  // printed. The bare copy, the debts-shaped floors and PGlite, for information, come after.
  const rounds: Array<{ indexed: { seconds: number; cpu: number }; quita: Awaited<ReturnType<typeof quitaImport>>; ratio: number }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const { name: db, url, drop } = await createDatabase(BASE_URL);
    try {
      const indexed = await psqlCopy(
        url,
        db,
        'CREATE TABLE keyed (id bigserial PRIMARY KEY, external_id text UNIQUE, cpf text, name text, amount text, due_date text, description text); CREATE INDEX ON keyed (cpf)',
        `\\copy keyed ${cols} FROM '${FILE}' ${copyOpts}`,
      );
      console.log(`  round ${round}: psql \\copy, pk + unique + index: ${indexed.seconds.toFixed(2)} s${cpuNote(indexed.cpu)}   (the baseline)`);
      await admin((c) => c.query(`DROP TABLE IF EXISTS keyed`).catch(() => {}));
      const quita = await quitaImport(`round ${round}: Quita on PostgreSQL`, { DATABASE_URL: url }, db);
      const ratio = quita.seconds / indexed.seconds;
      console.log(`  round ${round}: ratio ${ratio.toFixed(2)}×`);
      rounds.push({ indexed, quita, ratio });
    } finally {
      await drop();
    }
  }
  const ratio = median(rounds.map((r) => r.ratio));
  const middle = rounds.find((r) => r.ratio === ratio)!;
  const { indexed, quita } = middle;
  const peakRss = Math.max(...rounds.map((r) => r.quita.rssMb));
  console.log(
    `  ratio Quita / indexed copy: ${ratio.toFixed(2)}× (median of ${rounds.length}; ${rounds.map((r) => r.ratio.toFixed(2)).join(', ')})  (target ≤ 1.5×)   peak RSS ${peakRss.toFixed(0)} MB (target < 256 MB)`,
  );

  const { name: db, url, drop } = await createDatabase(BASE_URL);
  try {
    const bare = await psqlCopy(url, db, 'CREATE TABLE bare (external_id text, cpf text, name text, amount text, due_date text, description text)', `\\copy bare ${cols} FROM '${FILE}' ${copyOpts}`);
    console.log(`  psql \\copy, bare table:          ${bare.seconds.toFixed(2)} s${cpuNote(bare.cpu)}   (for information)`);
    await admin((c) => c.query(`DROP TABLE IF EXISTS bare`).catch(() => {}));

    // The floor for this schema: the same rows into a table shaped like debts (its keys
    // compare as bytes, as debts' do; amount and due_date left as text: \copy cannot convert
    // "1.234,56" or DD/MM/YYYY).
    // Quita's debts check their creditor once per statement (a trigger, migration 0006); a
    // foreign key, checked row by row, is shown for comparison.
    let floor: { plain: number; fk: number; check: number; plainCpu: number; fkCpu: number; checkCpu: number } | undefined;
    if (process.env.SKIP_FLOOR !== '1') {
      const creditor = '00000000-0000-4000-8000-000000000001';
      const checkTrigger = `CREATE OR REPLACE FUNCTION floor_check() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE ids uuid[]; found integer;
         BEGIN
           SELECT array_agg(g.creditor_id) INTO ids FROM (SELECT creditor_id FROM new_rows GROUP BY creditor_id) g;
           SELECT count(*) INTO found FROM (SELECT 1 FROM floor_creditors c WHERE c.id = ANY (ids) FOR KEY SHARE OF c) locked;
           IF found < cardinality(ids) THEN RAISE EXCEPTION 'no creditor' USING ERRCODE = 'foreign_key_violation'; END IF;
           RETURN NULL;
         END $$;
         CREATE TRIGGER floor_check AFTER INSERT ON floor_debts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION floor_check();`;
      const shaped = (variant: 'plain' | 'fk' | 'check') =>
        `CREATE TABLE IF NOT EXISTS floor_creditors (id uuid PRIMARY KEY); INSERT INTO floor_creditors VALUES ('${creditor}') ON CONFLICT DO NOTHING; DROP TABLE IF EXISTS floor_debts;
         CREATE TABLE floor_debts (creditor_id uuid NOT NULL DEFAULT '${creditor}' ${variant === 'fk' ? 'REFERENCES floor_creditors (id)' : ''}, id bigint GENERATED ALWAYS AS IDENTITY,
           external_id text COLLATE "C" NOT NULL, cpf text COLLATE "C" NOT NULL, name text NOT NULL, email text, phone text, amount text NOT NULL, credited_cents bigint NOT NULL DEFAULT 0,
           due_date text NOT NULL, description text, status text NOT NULL DEFAULT 'open', withdrawn_reason text,
           created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (creditor_id, id), UNIQUE (creditor_id, external_id));
         CREATE INDEX ON floor_debts (creditor_id, cpf);
         ${variant === 'check' ? checkTrigger : ''}`;
      const plain = await psqlCopy(url, db, shaped('plain'), `\\copy floor_debts ${cols} FROM '${FILE}' ${copyOpts}`);
      const fk = await psqlCopy(url, db, shaped('fk'), `\\copy floor_debts ${cols} FROM '${FILE}' ${copyOpts}`);
      const check = await psqlCopy(url, db, shaped('check'), `\\copy floor_debts ${cols} FROM '${FILE}' ${copyOpts}`);
      floor = { plain: plain.seconds, fk: fk.seconds, check: check.seconds, plainCpu: plain.cpu, fkCpu: fk.cpu, checkCpu: check.cpu };
      console.log(`  psql \\copy, debts-shaped table:  ${plain.seconds.toFixed(2)} s${cpuNote(plain.cpu)}   (for information)`);
      console.log(`    … with a foreign key:         ${fk.seconds.toFixed(2)} s${cpuNote(fk.cpu)}   (for information)`);
      console.log(`    … with Quita's creditor check: ${check.seconds.toFixed(2)} s${cpuNote(check.cpu)}   (for information: the floor for debts)`);
      await admin((c) => c.query(`DROP TABLE IF EXISTS floor_debts, floor_creditors`).catch(() => {}));
    }

    if (floor) console.log(`  ratio Quita (median round) / debts-shaped copy with its creditor check: ${(quita.seconds / floor.check).toFixed(2)}×`);

    let pglite: { seconds: number; rssMb: number } | undefined;
    if (process.env.SKIP_PGLITE !== '1') pglite = await quitaImport('Quita on PGlite (for information)', {});

    const summary = {
      rows: ROWS,
      bare_copy_s: bare.seconds,
      indexed_copy_s: indexed.seconds,
      indexed_copy_backend_cpu_s: indexed.cpu,
      debts_shaped_copy_s: floor?.plain,
      debts_shaped_fk_copy_s: floor?.fk,
      debts_shaped_fk_copy_backend_cpu_s: floor?.fkCpu,
      debts_shaped_check_copy_s: floor?.check,
      debts_shaped_check_copy_backend_cpu_s: floor?.checkCpu,
      quita_pg_s: quita.seconds,
      ratio,
      rounds: rounds.map((r) => ({ indexed_copy_s: r.indexed.seconds, quita_pg_s: r.quita.seconds, ratio: r.ratio })),
      quita_pg_peak_rss_mb: peakRss,
      quita_pg_server_cpu_s: quita.serverCpu,
      quita_pg_postgres_cpu_s: quita.dbCpu,
      quita_pglite_s: pglite?.seconds,
      quita_pglite_peak_rss_mb: pglite?.rssMb,
    };
    if (process.argv.includes('--json')) console.log(JSON.stringify(summary));
    writeFileSync(path.join(DATA, 'import-last.json'), JSON.stringify({ ...summary, date: new Date().toISOString(), cores: os.cpus().length }, null, 2));
  } finally {
    await drop();
  }
}

await main();
