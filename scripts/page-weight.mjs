// Page weight and speed: for the course home and every lesson page, the
// wasm it loads (each file's gzip -9 size, and what went over the wire) and
// how long until its first widget, its first request widget, and every
// widget is interactive (the wasm is counted once every widget is, so the
// waves of chunk files a page's islands fetch are all in), in Debian's chromium on a slow phone: 1.6 Mbit/s down,
// 750 kbit/s up, 150 ms round trip, CPU slowed 4 times. Each page is loaded
// with the browser's cache off and no cookies, as a first visit.
//
// Usage: node scripts/page-weight.mjs   (run by scripts/page-weight.sh)
// Env: WORKBENCH_BIN (default target/release/workbench), PAGES (a comma-
// separated list of paths instead of every lesson), TIMEOUT_MS (per page,
// default 120000).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { openBrowser, repoRoot, startServer } from '../end2end/tests/harness.mjs';

const SLOW_PHONE = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const CPU_SLOWDOWN = 4;
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 120_000);

// Runs in the page before any of its scripts: notes when the first widget,
// the first request widget, and the last widget mark themselves hydrated.
const watchHydration = () => {
  const seen = {};
  const check = () => {
    if (seen.widget === undefined && document.querySelector('[data-hydrated="true"]')) {
      seen.widget = performance.now();
    }
    if (seen.request === undefined && document.querySelector('.request-widget[data-hydrated="true"]')) {
      seen.request = performance.now();
    }
    if (
      seen.every === undefined &&
      document.readyState !== 'loading' &&
      document.querySelector('[data-hydrated]') &&
      !document.querySelector('[data-hydrated]:not([data-hydrated="true"])')
    ) {
      seen.every = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-hydrated'],
  });
  globalThis.__interactive = seen;
};

const kib = (bytes) => (bytes / 1024).toFixed(0);
const ms = (value) => (value === undefined ? '-' : Math.round(value).toString());

async function lessonPaths(baseUrl) {
  if (process.env.PAGES) return process.env.PAGES.split(',');
  const home = await (await fetch(`${baseUrl}/`)).text();
  const links = [...home.matchAll(/href="(\/lessons\/[^"#?]+)"/g)].map((m) => m[1]);
  return ['/', ...new Set(links)];
}

async function measure(browser, baseUrl, pagePath) {
  const { context } = browser;
  await context.clearCookies();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', SLOW_PHONE);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
  const wasmUrls = new Map();
  const transferred = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (response.url.endsWith('.wasm')) wasmUrls.set(requestId, response.url);
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    if (wasmUrls.has(requestId)) transferred.set(requestId, encodedDataLength);
  });
  await page.addInitScript(watchHydration);
  await page.goto(`${baseUrl}${pagePath}`, { waitUntil: 'load', timeout: timeoutMs });
  const widgets = await page.locator('[data-hydrated]').count();
  if (widgets > 0) {
    await page.waitForFunction(() => globalThis.__interactive?.every !== undefined, null, {
      timeout: timeoutMs,
    });
  }
  if ((await page.locator('.request-widget').count()) > 0) {
    await page.waitForFunction(() => globalThis.__interactive?.request !== undefined, null, {
      timeout: timeoutMs,
    });
  }
  // A page without widgets may still be fetching its wasm after `load`.
  await page.waitForLoadState('networkidle', { timeout: timeoutMs });
  const interactive = await page.evaluate(() => globalThis.__interactive);
  const files = [...wasmUrls.values()].map((url) => new URL(url).pathname);
  const gzip = files.reduce((sum, file) => {
    const onDisk = path.join(repoRoot, 'target/site', file);
    return sum + gzipSync(readFileSync(onDisk), { level: 9 }).length;
  }, 0);
  const wire = [...transferred.values()].reduce((a, b) => a + b, 0);
  await page.close();
  return { pagePath, widgets, files, gzip, wire, interactive };
}

const server = await startServer();
const browser = await openBrowser();
try {
  const rows = [];
  for (const pagePath of await lessonPaths(server.baseUrl)) {
    rows.push(await measure(browser, server.baseUrl, pagePath));
  }
  console.log('| page | widgets | wasm files | wasm KiB (gzip -9) | wasm KiB on the wire | first widget interactive, ms | first request widget interactive, ms | every widget interactive, ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(
      `| \`${row.pagePath}\` | ${row.widgets} | ${row.files.length} | ${kib(row.gzip)} | ${kib(row.wire)} | ${ms(row.interactive?.widget)} | ${ms(row.interactive?.request)} | ${ms(row.interactive?.every)} |`,
    );
  }
} finally {
  await browser.close();
  await server.stop();
}
