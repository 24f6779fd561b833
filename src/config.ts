// The environment, parsed once. A bad value stops the process with a message naming the variable.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { isValidTimeZone } from './lib/dates.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  STRIPE_API_BASE: z.url({ message: 'must be a URL' }).optional(),
  STRIPE_PUBLISHABLE_KEY: z.string().regex(/^pk_/, 'must be a Stripe publishable key (pk_…)').optional(),
  PAYMENTS_SANDBOX: bool.optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be true, false or a comma-separated list of proxy IP addresses or CIDR ranges' });
        return z.NEVER;
      }
      return parsed;
    }),
  METRICS_TOKEN: z.string().min(1).optional(),
  WEBHOOK_ALLOW_PRIVATE_URLS: bool.optional(),
  MAX_UPLOAD_MB: z.coerce.number({ message: 'must be a number of MiB' }).min(0.0625, 'must be at least 0.0625 (64 KiB)').max(4096, 'must be at most 4096').default(512),
  WEBHOOK_RETENTION_DAYS: z.coerce.number({ message: 'must be a whole number of days' }).int('must be a whole number of days').min(1, 'must be at least 1').max(3650, 'must be at most 3650').default(90),
  DPO_EMAIL: z.email({ message: 'must be an e-mail address' }).optional(),
  TZ_BUSINESS: z.string().refine(isValidTimeZone, 'must be an IANA time zone').default('America/Sao_Paulo'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  publicUrl: string;
  databaseUrl: string | undefined;
  dataDir: string;
  secretKey: string;
  adminToken: string | undefined;
  /** publishableKey: handed to Stripe's Payment Element in the browser (card payments). */
  stripe: { secretKey: string; webhookSecret: string | undefined; apiBase: string | undefined; publishableKey: string | undefined } | undefined;
  paymentsSandbox: boolean;
  redisUrl: string | undefined;
  trustProxy: boolean | string[];
  metricsToken: string | undefined;
  webhookAllowPrivateUrls: boolean;
  /** Largest portfolio upload accepted, in bytes (413 above it). */
  maxUploadBytes: number;
  /** Days a finished webhook event and its delivery history are kept (the webhook-retention job). */
  webhookRetentionDays: number;
  dpoEmail: string | undefined;
  tzBusiness: string;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// proxy-addr's named ranges, then an address or CIDR range; undefined when not a proxy list.
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function parseTrustProxy(value: string): boolean | string[] | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'false' || v === '' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  return entries.length > 0 && entries.every(isProxyAddress) ? entries : undefined;
}

/** Reads the secret kept in DATA_DIR, creating it on first use (development only). */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret-key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    // Written whole under a temporary name, then linked into place: a process starting at
    // the same moment (server and worker) reads the winner's secret, never a partial one.
    const candidate = `${file}.${process.pid}.tmp`;
    writeFileSync(candidate, randomBytes(48).toString('base64url') + '\n', { mode: 0o600 });
    try {
      linkSync(candidate, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(candidate);
    }
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) {
    throw new ConfigError(`Invalid configuration:\n  SECRET_KEY: unset, and the generated secret in ${file} is damaged; delete that file to generate another`);
  }
  return secret;
}

export function loadConfig(source: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && !e.SECRET_KEY && !overrides.secretKey) {
    throw new ConfigError('Invalid configuration:\n  SECRET_KEY: required in production');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const config: Config = {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    dataDir,
    secretKey: overrides.secretKey ?? e.SECRET_KEY ?? devSecret(dataDir),
    adminToken: e.ADMIN_TOKEN,
    stripe: e.STRIPE_SECRET_KEY
      ? { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiBase: e.STRIPE_API_BASE, publishableKey: e.STRIPE_PUBLISHABLE_KEY }
      : undefined,
    paymentsSandbox: e.PAYMENTS_SANDBOX ?? !isProduction,
    redisUrl: e.REDIS_URL,
    trustProxy: e.TRUST_PROXY,
    metricsToken: e.METRICS_TOKEN,
    webhookAllowPrivateUrls: e.WEBHOOK_ALLOW_PRIVATE_URLS ?? !isProduction,
    maxUploadBytes: Math.floor(e.MAX_UPLOAD_MB * 1024 * 1024),
    webhookRetentionDays: e.WEBHOOK_RETENTION_DAYS,
    dpoEmail: e.DPO_EMAIL,
    tzBusiness: e.TZ_BUSINESS,
    logLevel: e.LOG_LEVEL,
  };
  return { ...config, ...overrides };
}

/** For entry points: the config, or a message naming the bad variable and exit code 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
