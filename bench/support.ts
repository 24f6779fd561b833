// What the benches share: a database of their own on PostgreSQL, the built server in a
// child process, questions to a child over IPC, and what /proc says about a process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILT_SERVER = path.join(ROOT, 'dist/src/server.js');
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

// ---------------------------------------------------------------------------------------
// PostgreSQL.

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new database `<prefix>_<random>` on the server at `baseUrl`, for one run. */
export async function createDatabase(baseUrl: string, prefix = 'quita_bench'): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  await withClient(baseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => withClient(baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}) };
}

// ---------------------------------------------------------------------------------------
// Child processes.

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Polls `url` until it answers 2xx; throws when `child` (which should answer it) exits first, or after `timeoutMs`. */
export async function waitFor(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    if (child && exited(child)) throw new Error(`${url}: its process exited (${child.exitCode ?? child.signalCode}) before answering`);
    if (Date.now() > deadline) throw new Error(`${url} not ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM, then the exit. */
export function stop(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export interface BenchServer {
  child: ChildProcess;
  pid: number;
  port: number;
  base: string;
  /** SIGTERM, the exit, then its DATA_DIR removed. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** The environment beyond the production defaults (DATABASE_URL: PGlite without it). */
  env?: Record<string, string>;
  /** Another build's dist/src/server.js. */
  script?: string;
  /** Node flags before the script. */
  nodeArgs?: string[];
  /** An IPC channel to the server (for a preloaded module that answers over it). */
  ipc?: boolean;
}

/**
 * Quita's built server in production mode on a random port in 3800–3889 (a port taken
 * means a server that exits, and an error), with a fresh DATA_DIR, once its /readyz answers. Its logs reach this terminal only when BENCH_LOG_LEVEL is set (warnings
 * and errors always do).
 */
export async function startServer({ env = {}, script = BUILT_SERVER, nodeArgs = [], ipc = false }: ServerOptions = {}): Promise<BenchServer> {
  const port = 3800 + Math.floor(Math.random() * 90);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quita-bench-'));
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      SECRET_KEY: randomBytes(32).toString('hex'),
      ADMIN_TOKEN,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      PAYMENTS_SANDBOX: 'true',
      ...env,
    },
    stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
  });
  const server: BenchServer = {
    child,
    pid: child.pid!,
    port,
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(`${server.base}/readyz`, 60_000, child);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Sends `message` to `child` over IPC; resolves with the first message `answer` turns into a value. */
export function ask<M, T>(child: ChildProcess, message: unknown, answer: (m: M) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: M) => {
      const value = answer(m);
      if (value === undefined) return;
      child.off('message', onMessage);
      resolve(value);
    };
    child.on('message', onMessage);
    child.send(message as never);
  });
}

// ---------------------------------------------------------------------------------------
// /proc (Linux; NaN where a figure cannot be read).

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, or NaN when it is gone or not ours to see. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The most memory a process has held (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------
// Data.

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (npm run build) when it is missing or older than src/: a bench measures the code as it is. */
export function buildIfStale(): void {
  if (existsSync(BUILT_SERVER) && statSync(BUILT_SERVER).mtimeMs >= newestMtime(path.join(ROOT, 'src'))) return;
  console.log('  building (npm run build): dist/ is older than src/');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}
