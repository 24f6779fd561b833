// Migrates one template database per test run; each test file then gets its own copy
// (a PGlite data-dir snapshot, or CREATE DATABASE … TEMPLATE on PostgreSQL).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openPostgres, runMigrations, wrapPglite } from '../src/db/client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
  }
}

function adminUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(path.join(tmpdir(), 'quita-test-'));
    const client = await PGlite.create();
    await runMigrations(wrapPglite(client));
    const dump = await client.dumpDataDir('none');
    const file = path.join(dir, 'template.tar');
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    await client.close();
    project.provide('pgliteTemplate', file);
    project.provide('pgTemplate', '');
    return async () => rmSync(dir, { recursive: true, force: true });
  }

  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`DATABASE_URL is set but PostgreSQL is unreachable (${(err as Error).message}). Start it, or unset DATABASE_URL to test on PGlite.`, { cause: err });
  }
  const template = `quita_tpl_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${template}`);
  const database = openPostgres(adminUrl(url, template), { max: 1 });
  await runMigrations(database);
  await database.close();
  project.provide('pgliteTemplate', '');
  project.provide('pgTemplate', template);
  return async () => {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${template}%`]);
    for (const row of rows) await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    await admin.end();
  };
}
