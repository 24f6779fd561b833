// One POST to a creditor's endpoint. Redirects are never followed (a 3xx is an answer
// like any other non-2xx), the whole exchange is bounded in time, and only the first
// ~1 KB of the answer is read. With the SSRF guard on, the host is resolved here, every
// address is checked, and the socket connects to the checked address only.
import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { blockedAddressReason } from './ssrf.js';

export const RESPONSE_EXCERPT_BYTES = 1024;

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** DNS resolution, injectable so that tests can play a rebinding resolver. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  resolver?: Resolver;
  agents?: { http: http.Agent; https: https.Agent };
}

export interface PostResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  excerpt: string | null;
  retryAfter: string | undefined;
}

export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
}

/** The address to connect to, after the guard; undefined lets Node resolve (guard off). */
async function pinnedAddress(url: URL, opts: PostOptions): Promise<ResolvedAddress | undefined> {
  if (opts.allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses = literal ? [{ address: host, family: literal }] : await (opts.resolver ?? systemResolver)(host);
  if (addresses.length === 0) throw new Error(`${host} did not resolve`);
  for (const a of addresses) {
    const reason = blockedAddressReason(a.address);
    // Any private answer refuses the name: an attacker's DNS could mix one in with public ones.
    if (reason) throw new BlockedAddressError(`refused: ${host} resolves to ${a.address}, a ${reason} address`);
  }
  return addresses[0];
}

function pinningLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
}

export function createAgents(): { http: http.Agent; https: https.Agent } {
  const options = { keepAlive: true, maxSockets: 64, timeout: 30_000 };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** Never throws: whatever goes wrong is the try's error. */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<PostResult> {
  const started = performance.now();
  try {
    return await post(url, headers, body, opts, started);
  } catch (err) {
    return { statusCode: null, error: (err as Error).message, durationMs: Math.round(performance.now() - started), excerpt: null, retryAfter: undefined };
  }
}

async function post(url: string, headers: Record<string, string>, body: string, opts: PostOptions, started: number): Promise<PostResult> {
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(url);
  const pinned = await pinnedAddress(target, opts);
  const isHttps = target.protocol === 'https:';
  const transport = isHttps ? https : http;
  const payload = Buffer.from(body);

  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: elapsed() });
    };
    const req = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'Quita-Webhooks/1' },
        agent: opts.agents ? (isHttps ? opts.agents.https : opts.agents.http) : false,
        ...(pinned ? { lookup: pinningLookup(pinned) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const status = res.statusCode ?? 0;
          const excerpt = size > 0 ? Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8') : null;
          const error = status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? `redirect (${status}) not followed` : `HTTP ${status}`;
          const retryAfter = res.headers['retry-after'];
          finish({ statusCode: status, error, excerpt, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= RESPONSE_EXCERPT_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= RESPONSE_EXCERPT_BYTES) {
            // Enough read: the rest of the answer is not ours to wait for.
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ statusCode: null, error: `timed out after ${opts.timeoutMs} ms`, excerpt: null, retryAfter: undefined });
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish({ statusCode: null, error: err.code ? `${err.code}: ${err.message}` : err.message, excerpt: null, retryAfter: undefined });
    });
    req.end(payload);
  });
}
