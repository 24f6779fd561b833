// Browser tests: Debian's chromium driven by playwright-core, against the real app
// listening on loopback. Skipped, and said so, when chromium is absent or
// SKIP_BROWSER_TESTS=1 (CI runs the browser pass once).
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { buildTestApp, type TestApp } from './app.js';

export const CHROMIUM = '/usr/bin/chromium';
export const OUT = path.resolve('test-output/e2e');
export const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export const browserSkipReason =
  process.env.SKIP_BROWSER_TESTS === '1' ? 'SKIP_BROWSER_TESTS=1' : !existsSync(CHROMIUM) ? `${CHROMIUM} not found` : undefined;
if (browserSkipReason) console.log(`browser tests skipped: ${browserSkipReason}`);

/** The real app on 127.0.0.1 (a free port) and a headless chromium. */
export async function startBrowserSession(): Promise<{ t: TestApp; browser: Browser; base: string }> {
  const { chromium } = await import('playwright-core');
  mkdirSync(OUT, { recursive: true });
  const t = await buildTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return { t, browser, base };
}
