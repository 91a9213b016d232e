// Starts the built workbench on a free port with a fresh database, and opens
// Debian's chromium through playwright-core (never a downloaded browser).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Spawns `workbench serve` on port 0 and resolves once it says where it listens. */
export async function startServer() {
  const bin = process.env.WORKBENCH_BIN ?? path.join(repoRoot, 'target/debug/workbench');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'workbench-e2e-'));
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--course', repoRoot], {
    env: {
      ...process.env,
      WORKBENCH_DATA_DIR: dataDir,
      LEPTOS_SITE_ROOT: path.join(repoRoot, 'target/site'),
      RUST_LOG: 'info',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  const changesSeen = () => log.split('platform rows changed').length - 1;
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = log.match(/listening on (http:\/\/[\d.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  let seenBeforeCommand = 0;
  return {
    baseUrl,
    /** Runs a `workbench` command (e.g. `user add`) on this server's database. */
    workbench(...args) {
      seenBeforeCommand = changesSeen();
      const run = spawnSync(bin, args, {
        env: { ...process.env, WORKBENCH_DATA_DIR: dataDir, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(`workbench ${args.join(' ')} failed:\n${run.stderr}`);
      return run.stdout;
    },
    /**
     * Resolves once the server has noticed the last command's change to an
     * account or class (it reads the database's change counter four times a
     * second and logs each change it sees).
     */
    async changesSeen() {
      const deadline = Date.now() + 10_000;
      while (changesSeen() <= seenBeforeCommand) {
        if (Date.now() > deadline) throw new Error(`the server never noticed the change:\n${log}`);
        await new Promise((resolve) => child.stderr.once('data', resolve));
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh headless chromium profile. */
export async function openBrowser(contextOptions = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'workbench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    ...contextOptions,
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function seriousViolations(page) {
  // Evaluated through DevTools rather than added as a <script>: the pages'
  // Content-Security-Policy rightly refuses inline scripts it does not know.
  await page.evaluate(readFileSync(path.join(repoRoot, 'end2end/node_modules/axe-core/axe.min.js'), 'utf8'));
  const results = await page.evaluate(() => globalThis.axe.run());
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Where tests save the screenshots we look at. */
export const shots = path.join(repoRoot, 'target/screenshots');

/**
 * Registers `before`/`after` hooks that start a server and a browser for the
 * test file, and returns them (filled in once `before` has run).
 */
export function useServerAndBrowser() {
  const env = { server: null, browser: null };
  before(async () => {
    mkdirSync(shots, { recursive: true });
    env.server = await startServer();
    env.browser = await openBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}
