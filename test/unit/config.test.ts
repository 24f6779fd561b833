import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';

const SECRET = 's'.repeat(40);
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'quita-config-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The message of the ConfigError that loading `env` throws. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('defaults', () => {
    const dataDir = tempDir();
    const c = loadConfig({ DATA_DIR: dataDir, SECRET_KEY: SECRET });
    expect(c).toMatchObject({
      env: 'development',
      isProduction: false,
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:3000',
      databaseUrl: undefined,
      dataDir,
      secretKey: SECRET,
      adminToken: undefined,
      stripe: undefined,
      paymentsSandbox: true,
      redisUrl: undefined,
      trustProxy: false,
      metricsToken: undefined,
      webhookAllowPrivateUrls: true,
      dpoEmail: undefined,
      tzBusiness: 'America/Sao_Paulo',
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://quita.example.com/',
      DATABASE_URL: 'postgresql://quita@db.internal:5432/quita',
      DATA_DIR: tempDir(),
      SECRET_KEY: SECRET,
      ADMIN_TOKEN: 'admin-token-0123456789',
      STRIPE_SECRET_KEY: 'sk_test_123',
      STRIPE_WEBHOOK_SECRET: 'whsec_123',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      REDIS_URL: 'redis://cache:6379',
      METRICS_TOKEN: 'metrics-token',
      DPO_EMAIL: 'dpo@quita.example.com',
      TZ_BUSINESS: 'America/Manaus',
      LOG_LEVEL: 'warn',
    });
    expect(c).toMatchObject({
      env: 'production',
      isProduction: true,
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://quita.example.com',
      databaseUrl: 'postgresql://quita@db.internal:5432/quita',
      adminToken: 'admin-token-0123456789',
      stripe: { secretKey: 'sk_test_123', webhookSecret: 'whsec_123', apiBase: 'http://127.0.0.1:12111' },
      redisUrl: 'redis://cache:6379',
      metricsToken: 'metrics-token',
      dpoEmail: 'dpo@quita.example.com',
      tzBusiness: 'America/Manaus',
      logLevel: 'warn',
    });
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', SECRET_KEY: SECRET, DATA_DIR: tempDir() });
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBeUndefined();
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://root@localhost/quita' }, 'DATABASE_URL'],
    [{ TZ_BUSINESS: 'Mars/Base' }, 'TZ_BUSINESS'],
    [{ PAYMENTS_SANDBOX: 'maybe' }, 'PAYMENTS_SANDBOX'],
    [{ WEBHOOK_ALLOW_PRIVATE_URLS: 'sometimes' }, 'WEBHOOK_ALLOW_PRIVATE_URLS'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ PUBLIC_URL: 'ftp://quita.example.com' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'quita.example.com' }, 'PUBLIC_URL'],
    [{ SECRET_KEY: 'short' }, 'SECRET_KEY'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ REDIS_URL: 'memcached://cache' }, 'REDIS_URL'],
    [{ DPO_EMAIL: 'not an e-mail' }, 'DPO_EMAIL'],
    [{ STRIPE_API_BASE: 'not a url' }, 'STRIPE_API_BASE'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.300' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.1, load-balancer' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
  ])('a bad value stops loading and names the variable: %j', (env, variable) => {
    const message = configError({ DATA_DIR: tempDir(), ...env });
    expect(message).toContain(`${variable}:`);
    expect(message.split('\n')).toHaveLength(2); // the heading, and the one bad variable
  });

  it('names every bad variable at once', () => {
    const message = configError({ PORT: 'abc', TZ_BUSINESS: 'Mars/Base', DATABASE_URL: 'mysql://x' });
    for (const variable of ['PORT', 'TZ_BUSINESS', 'DATABASE_URL']) expect(message).toContain(`${variable}:`);
  });

  it('requires SECRET_KEY in production and writes nothing to DATA_DIR', () => {
    const dataDir = tempDir();
    const message = configError({ NODE_ENV: 'production', DATA_DIR: dataDir });
    expect(message).toContain('SECRET_KEY');
    expect(readdirSync(dataDir)).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: SECRET, DATA_DIR: dataDir }).secretKey).toBe(SECRET);
  });

  it('outside production generates a secret once in DATA_DIR and reuses it', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.secretKey.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dataDir, 'secret-key');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secretKey);
    expect(statSync(file).mode & 0o077).toBe(0); // readable by the owner only
    const second = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' });
    expect(second.secretKey).toBe(first.secretKey);
    expect(readdirSync(dataDir)).toEqual(['secret-key']);
    // SECRET_KEY, when set, wins over the kept one.
    expect(loadConfig({ DATA_DIR: dataDir, SECRET_KEY: SECRET }).secretKey).toBe(SECRET);
    // Another DATA_DIR, another secret.
    expect(loadConfig({ DATA_DIR: tempDir() }).secretKey).not.toBe(first.secretKey);
  });

  it('refuses a damaged generated secret instead of signing with it', () => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, 'secret-key'), '\n');
    expect(configError({ DATA_DIR: dataDir })).toContain('SECRET_KEY');
  });

  it('does not touch DATA_DIR when the secret comes from an override', () => {
    const dataDir = path.join(tempDir(), 'never-created');
    const c = loadConfig({ DATA_DIR: dataDir }, { secretKey: SECRET });
    expect(c.secretKey).toBe(SECRET);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('PUBLIC_URL defaults to http://HOST:PORT', () => {
    const base = { SECRET_KEY: SECRET, DATA_DIR: tempDir() };
    expect(loadConfig({ ...base, HOST: '192.168.0.10', PORT: '8080' }).publicUrl).toBe('http://192.168.0.10:8080');
    expect(loadConfig({ ...base, HOST: '::1' }).publicUrl).toBe('http://[::1]:3000');
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://quita.example.com/base/' }).publicUrl).toBe('https://quita.example.com/base');
  });

  it('PAYMENTS_SANDBOX and WEBHOOK_ALLOW_PRIVATE_URLS default by NODE_ENV', () => {
    const base = { SECRET_KEY: SECRET, DATA_DIR: tempDir() };
    for (const env of ['development', 'test']) {
      const c = loadConfig({ ...base, NODE_ENV: env });
      expect(c.paymentsSandbox, env).toBe(true);
      expect(c.webhookAllowPrivateUrls, env).toBe(true);
    }
    const prod = loadConfig({ ...base, NODE_ENV: 'production' });
    expect(prod.paymentsSandbox).toBe(false);
    expect(prod.webhookAllowPrivateUrls).toBe(false);
    const overridden = loadConfig({ ...base, NODE_ENV: 'production', PAYMENTS_SANDBOX: 'true', WEBHOOK_ALLOW_PRIVATE_URLS: '1' });
    expect(overridden.paymentsSandbox).toBe(true);
    expect(overridden.webhookAllowPrivateUrls).toBe(true);
    const off = loadConfig({ ...base, PAYMENTS_SANDBOX: 'false', WEBHOOK_ALLOW_PRIVATE_URLS: 'no' });
    expect(off.paymentsSandbox).toBe(false);
    expect(off.webhookAllowPrivateUrls).toBe(false);
  });

  it('parses TRUST_PROXY', () => {
    const base = { SECRET_KEY: SECRET, DATA_DIR: tempDir() };
    const trust = (value: string) => loadConfig({ ...base, TRUST_PROXY: value }).trustProxy;
    expect(loadConfig(base).trustProxy).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('TRUE')).toBe(true);
    expect(trust('1')).toBe(true);
    expect(trust('10.0.0.1')).toEqual(['10.0.0.1']);
    expect(trust(' 10.0.0.1 , 10.1.0.0/16,loopback, ::1, fd00::/8 ')).toEqual(['10.0.0.1', '10.1.0.0/16', 'loopback', '::1', 'fd00::/8']);
  });

  it('lets tests override values without touching process.env', () => {
    const c = loadConfig({ SECRET_KEY: SECRET, DATA_DIR: tempDir() }, { adminToken: undefined, port: 0 });
    expect(c.adminToken).toBeUndefined();
    expect(c.port).toBe(0);
  });
});

describe('the server entry', () => {
  const run = promisify(execFile);

  async function startWith(env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
    const dataDir = tempDir();
    const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: PROJECT_ROOT, env: { ...base, ...env }, timeout: 20_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; killed?: boolean; stdout: string; stderr: string };
      if (e.killed) throw new Error(`the server did not stop: ${e.stderr}`, { cause: err });
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('exits non-zero naming the bad variable, before opening anything', async () => {
    const [port, trust, secret] = await Promise.all([
      startWith({ PORT: 'abc' }),
      startWith({ TRUST_PROXY: 'load-balancer' }),
      startWith({ NODE_ENV: 'production' }),
    ]);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toMatch(/Invalid configuration:\n\s+PORT: /);
    expect(trust.code).not.toBe(0);
    expect(trust.stderr).toMatch(/TRUST_PROXY: /);
    expect(secret.code).not.toBe(0);
    expect(secret.stderr).toMatch(/SECRET_KEY: required in production/);
  });
});
