// Real Quita processes for the multi-process tests: servers (`src/server.ts`) on free
// loopback ports and workers (`src/worker.ts`), each with the environment the test gives
// (and nothing inherited beyond PATH), their output kept for failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectPath } from '../../src/lib/paths.js';

export interface QuitaProcess {
  name: string;
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr interleaved (the last 64 KiB). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface QuitaServer extends QuitaProcess {
  port: number;
  url: string;
}

const OUTPUT_LIMIT = 64 * 1024;

/** Processes still running: killed if the test process exits without stopping them (a failed hook, a timeout). */
const live = new Set<QuitaProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

/** A port that was free a moment ago on 127.0.0.1 (a server that loses the race is started again on another). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something answers PING with PONG at this redis:// URL within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function spawnQuita(script: 'server' | 'worker', name: string, env: Record<string, string>): QuitaProcess {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', `src/${script}.ts`], {
    cwd: projectPath('.'),
    env: { PATH: process.env.PATH ?? '', DATA_DIR: mkdtempSync(path.join(tmpdir(), `quita-${name}-`)), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(p);
      resolve({ code, signal });
    }),
  );
  const p: QuitaProcess = { name, child, output: () => output, exited };
  live.add(p);
  return p;
}

export function isRunning(p: QuitaProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * A server on a free port, once its /readyz answers 200 (migrations applied, database up).
 * A port taken between the probe and the listen means a start on another port.
 */
export async function startServer(name: string, env: Record<string, string>, timeoutMs = 90_000): Promise<QuitaServer> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const p = spawnQuita('server', name, { HOST: '127.0.0.1', PORT: String(port), ...env });
    const url = `http://127.0.0.1:${port}`;
    while (isRunning(p) && !(await answers(`${url}/readyz`))) {
      if (Date.now() > deadline) {
        p.child.kill('SIGKILL');
        throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${p.output()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (isRunning(p)) return { ...p, port, url };
    if (attempt >= 3 || !/EADDRINUSE/.test(p.output())) throw new Error(`${name} exited before it was ready:\n${p.output()}`);
  }
}

/** Stops every process this test file started that is still running (for an afterAll). */
export async function stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...live].map((p) => stopProcess(p, signal)));
}

/** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`); resolves with how it ended. */
export async function stopProcess(p: QuitaProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 45_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (isRunning(p)) p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
