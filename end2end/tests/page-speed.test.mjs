// What makes pages fast, checked in a real browser: a lesson page whose
// islands have a bundle fetches that one file; one without fetches the
// split build's code for its own widgets and of no other lab's; a lesson with only
// request widgets and exercise cards fetches only the enhancer; the course
// home, which has no widget, fetches none; and a signed-in student's lesson page comes
// from the server's page cache (its `x-page-cache: hit` header says no
// render happened for the request) with their name and their exercise
// results already in the HTML, never showing a wrong result first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, seriousViolations, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

/** Opens `url` in a new page, noting every wasm file it fetches: its path, and its name alone. */
async function openNotingWasm(url) {
  const page = await env.browser.context.newPage();
  const paths = [];
  const wasm = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (!pathname.endsWith('.wasm')) return;
    paths.push(pathname);
    wasm.push(pathname.split('/').pop());
  });
  const response = await page.goto(url);
  return { page, wasm, paths, response };
}

/** Letters only, lower case: `RateLimitConsole` and `rate_limit_console` meet. */
const bare = (name) => name.replace(/[^a-z]/gi, '').toLowerCase();

test('a lesson page whose islands have no bundle loads the split build\'s code for its lab alone, and the widget works', async () => {
  // Which wasm files each lazy island needs: its loader and the chunks it shares.
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'target/site/pkg/__wasm_split_manifest.json'), 'utf8'));
  const islands = Object.keys(manifest);
  assert.ok(islands.length >= 9, `every lab island has its own loader: ${islands}`);

  // No bundle is built for the cache console (scripts/test.sh builds one set only).
  const { page, wasm } = await openNotingWasm(`${env.server.baseUrl}/lessons/caching/why-cache`);
  const consoleWidget = page.locator('.cache-console[data-hydrated="true"]');
  await consoleWidget.waitFor({ timeout: 30_000 });
  await consoleWidget.locator('fieldset.cache-settings:not([disabled])').waitFor();
  await consoleWidget.getByRole('button', { name: 'Fetch product' }).click();
  await assert.doesNotReject(
    consoleWidget.getByRole('list', { name: 'What the cache did' }).locator('li').first().waitFor({ timeout: 30_000 }),
  );

  const onPage = await page.$$eval('leptos-island', (found) => found.map((island) => island.dataset.component));
  const ours = islands.filter((loader) => onPage.some((component) => bare(loader).startsWith(bare(component).replace(/^island/, ''))));
  assert.ok(ours.length > 0, `the page's lazy islands (${onPage}) have loaders`);
  const allowed = new Set(['workbench', ...ours.flatMap((loader) => manifest[loader])]);
  const fetched = wasm.map((file) => file.replace(/\.wasm$/, ''));
  for (const file of fetched) {
    assert.ok(allowed.has(file), `${file} belongs to no island on this page (${onPage}); fetched: ${fetched}`);
  }
  assert.ok(!fetched.includes('enhance_bg'), 'Leptos\'s module carries the enhancer: no second module');
  const others = islands.filter((loader) => !ours.includes(loader)).flatMap((loader) => manifest[loader]);
  assert.ok(others.some((file) => !allowed.has(file)), 'other labs have code of their own, and none of it came');
  await page.close();
});

test('a lesson page whose islands have a bundle loads that one file, and its widgets work', async () => {
  const bundle = 'RateLimitConsole+RateLimitSimulator';
  assert.ok(
    existsSync(path.join(repoRoot, 'target/site/pkg/bundles', bundle, 'workbench.wasm')),
    `no bundle for the rate-limit lesson's islands: scripts/build-bundles.sh "${bundle.replace('+', ' ')}"`,
  );
  const { page, paths } = await openNotingWasm(`${env.server.baseUrl}/lessons/rate-limiting/algorithms`);
  const consoleWidget = page.locator('.ratelimit-console[data-hydrated="true"]');
  await consoleWidget.waitFor({ timeout: 30_000 });
  await consoleWidget.locator('fieldset.rl-settings:not([disabled])').waitFor();
  await consoleWidget.getByLabel('Requests', { exact: true }).fill('12');
  await consoleWidget.getByRole('button', { name: 'Fire' }).click();
  await assert.doesNotReject(
    consoleWidget.getByTestId('rl-summary').filter({ hasText: /^12 requests/ }).waitFor({ timeout: 30_000 }),
  );
  // The page's other island, the simulator, came from the same file.
  await page.locator('.ratelimit-simulator[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  assert.deepEqual(paths, [`/pkg/bundles/${bundle}/workbench.wasm`], 'one file, no chunk, no second module');
  await page.close();
});

test('a lesson whose widgets are request widgets and exercise cards loads only the enhancer, and they work', async () => {
  const { page, wasm } = await openNotingWasm(`${env.server.baseUrl}/lessons/http/anatomy`);
  const widget = page.locator('.request-widget[data-hydrated="true"]').first();
  await widget.waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('leptos-island').count(), 0, 'no island on this page');
  await widget.getByRole('button', { name: 'Send' }).click();
  await widget.locator('.status-line').waitFor();
  assert.match(await widget.locator('.status-line').innerText(), /^200 OK/);
  await widget.getByRole('button', { name: 'Show trace' }).click();
  await widget.getByRole('list', { name: 'Trace timeline' }).waitFor();
  const card = page.locator('.exercise-card[data-hydrated="true"]').first();
  await card.getByRole('button', { name: 'Check' }).click();
  await card.locator('.outcome-score, .error-inline').first().waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(wasm, ['enhance_bg.wasm'], 'the enhancer, and no Leptos runtime');
  await page.close();
});

test('the course home loads no wasm, and its theme switch still works', async () => {
  const { page, wasm } = await openNotingWasm(`${env.server.baseUrl}/`);
  await page.waitForLoadState('networkidle');
  assert.deepEqual(wasm, [], 'no widget, no wasm');
  const toggle = page.getByRole('button', { name: /Theme:/ });
  await toggle.click();
  await toggle.click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.equal(await toggle.innerText(), 'Theme: dark');
  await page.close();
});

test('a signed-in student\'s lesson comes from the cache with their name and results, with no wrong result first', async () => {
  const signUp = await env.browser.context.newPage();
  await signUp.goto(`${env.server.baseUrl}/signup`);
  await signUp.getByLabel('Name').fill('Grace Hopper');
  await signUp.getByLabel('Email').fill('grace@example.com');
  await signUp.getByLabel('Password').fill('correct horse battery');
  await signUp.getByRole('button', { name: 'Create account' }).click();
  await signUp.locator('header.site-header').getByRole('link', { name: 'Grace Hopper' }).waitFor();
  // The page's own API, with the page's cookie.
  const graded = await signUp.request.post(`${env.server.baseUrl}/api/exercises/http-host-header/attempts`, {
    data: { answer: 'Host' },
    headers: { Origin: env.server.baseUrl },
  });
  assert.equal(graded.status(), 200, await graded.text());
  await signUp.close();

  const lesson = `${env.server.baseUrl}/lessons/http/anatomy`;
  // A reader without a cookie comes first and leaves the page in the cache.
  assert.equal((await fetch(lesson)).headers.get('x-page-cache'), 'miss');

  const page = await env.browser.context.newPage();
  // Every text one card's status line shows, from the first parsed HTML on.
  await page.addInitScript(() => {
    window.__statusLines = [];
    const note = () => {
      const line = document.querySelector('[data-reader-text^="exercise:http-host-header:"]');
      if (!line) return;
      const text = line.textContent.trim();
      const seen = window.__statusLines;
      if (seen[seen.length - 1] !== text) seen.push(text);
    };
    new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const response = await page.goto(lesson);
  assert.equal(response.headers()['x-page-cache'], 'hit', 'served from the cache');
  const header = page.locator('header.site-header');
  assert.equal(await header.getByRole('link', { name: 'Grace Hopper' }).count(), 1, 'their name');
  const card = page.locator('.exercise-card', { has: page.getByRole('heading', { name: 'Which site is this for?' }) });
  await card.and(page.locator('[data-hydrated="true"]')).waitFor({ timeout: 30_000 });
  assert.equal(await card.locator('.exercise-status').innerText(), 'Done: 1 of 1 points, in 1 attempt.');
  const seen = await page.evaluate(() => window.__statusLines);
  assert.deepEqual(seen, ['Done: 1 of 1 points, in 1 attempt.'], 'the line never showed anything else');
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});
