// The API lab's pagination console in a real browser: with the other
// client writing between pages, the offset walk shows an order twice and
// the cursor walk shows none twice; keyboard-usable, axe clean, both themes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

/** Clicks a walk's Next page `pages` times, waiting for each page to arrive. */
async function walk(column, pages) {
  const next = column.getByRole('button', { name: 'Next page' });
  for (let page = 1; page <= pages; page += 1) {
    await next.click();
    await column.locator('.api-walk-summary').filter({ hasText: `${page} pages,` }).waitFor();
  }
}

test('under the writer, offset pages repeat an order and cursor pages do not', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/apis/pagination`);
  const widget = page.locator('.api-console[data-hydrated="true"]');
  await widget.waitFor({ timeout: 30_000 });

  // Keyboard: the switch is reachable and toggles with the space bar.
  const writer = widget.getByLabel('Another client writes between pages');
  await writer.focus();
  await page.keyboard.press('Space');
  await widget.getByText('The other client now writes before each page you read.').waitFor();

  const offset = widget.getByRole('region', { name: 'By offset (?page=)' });
  const cursor = widget.getByRole('region', { name: 'By cursor (?after=)' });
  await walk(offset, 4);
  await walk(cursor, 4);
  const offsetSummary = await offset.locator('.api-walk-summary').innerText();
  const cursorSummary = await cursor.locator('.api-walk-summary').innerText();
  const twice = (summary) => Number(summary.match(/(\d+) shown twice/)[1]);
  assert.ok(twice(offsetSummary) > 0, offsetSummary);
  assert.equal(twice(cursorSummary), 0, cursorSummary);
  assert.ok(await offset.locator('.api-repeat').count() > 0);
  assert.equal(await cursor.locator('.api-repeat').count(), 0);

  assert.deepEqual(await seriousViolations(page), []);
  await widget.screenshot({ path: path.join(shots, 'api-pagination-console.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await widget.screenshot({ path: path.join(shots, 'api-pagination-console-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await widget.screenshot({ path: path.join(shots, 'api-pagination-console-phone.png') });
  await writer.uncheck();
  await widget.getByText('The other client stopped writing.').waitFor();
  await page.close();
});

test('the transport race shows one, six and one connections, keyboard first', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/apis/under-http`);
  const widget = page.locator('.transport-race[data-hydrated="true"]');
  await widget.waitFor({ timeout: 30_000 });

  // Keyboard only: set 12 requests of 20 ms, then press Race.
  const requests = widget.getByLabel('Requests each way (1 to 30)');
  await requests.focus();
  await requests.fill('12');
  await page.keyboard.press('Tab');
  await page.keyboard.type('20');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');

  const rows = widget.locator('.transport-figures tbody tr');
  await rows.nth(2).waitFor({ timeout: 30_000 });
  const cells = async (n) => (await rows.nth(n).locator('td').allInnerTexts());
  assert.equal((await cells(0))[0], '1');
  assert.equal((await cells(0))[1], '1', 'one HTTP/1.1 connection: one at a time');
  assert.equal((await cells(1))[0], '6');
  assert.equal((await cells(2))[0], '1');
  assert.ok(Number((await cells(2))[1]) > 1, 'HTTP/2 streams overlap');
  await widget.getByText('12 requests each way, the server waiting 20 ms on each').waitFor();
  assert.equal(await widget.locator('.transport-waterfall').count(), 3);
  assert.equal(await widget.locator('.transport-waterfall').first().locator('rect').count(), 12);

  assert.deepEqual(await seriousViolations(page), []);
  await widget.screenshot({ path: path.join(shots, 'api-transport-race.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await widget.screenshot({ path: path.join(shots, 'api-transport-race-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a phone`);
  await widget.screenshot({ path: path.join(shots, 'api-transport-race-phone.png') });
  await page.close();
});

test('the styles console fetches the same orders four ways and counts requests and bytes', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/apis/the-api-as-a-contract`);
  const widget = page.locator('.styles-console[data-hydrated="true"]');
  await widget.waitFor({ timeout: 30_000 });
  await widget.getByRole('button', { name: 'Fetch each way' }).click();
  const rows = widget.locator('tbody tr');
  await rows.nth(3).waitFor({ timeout: 30_000 });
  const row = async (n) => rows.nth(n).locator('th, td').allInnerTexts();
  const [byResource, included, graphql, grpc] = [await row(0), await row(1), await row(2), await row(3)];
  assert.equal(byResource[0], 'REST, one resource at a time');
  assert.ok(Number(byResource[1]) > 5, `several requests: ${byResource}`);
  assert.equal(byResource[2], '3', 'three rounds: the list, the orders, then customers and products');
  for (const way of [included, graphql, grpc]) {
    assert.equal(way[1], '1', `one request: ${way}`);
    assert.equal(way[2], '1', `one round trip: ${way}`);
    assert.equal(way[5], '5', `five orders: ${way}`);
  }
  assert.equal(byResource[5], '5');
  const bytes = (way) => Number(way[3].replace(/ B$/, ''));
  assert.ok(bytes(grpc) < bytes(graphql), 'protobuf is smaller than JSON');
  assert.ok(bytes(graphql) < bytes(byResource), 'GraphQL sends only what was asked');

  assert.deepEqual(await seriousViolations(page), []);
  await widget.screenshot({ path: path.join(shots, 'api-styles.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a phone`);
  await widget.screenshot({ path: path.join(shots, 'api-styles-phone.png') });
  await page.close();
});

test('the jobs console follows an export to its result, and a cancel ends one early', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/apis/long-running-work`);
  const widget = page.locator('.jobs-console[data-hydrated="true"]');
  await widget.waitFor({ timeout: 30_000 });
  const start = widget.getByRole('button', { name: 'Start an export' });

  await start.click();
  // Every order of the shop: an earlier test's writer may have changed how many.
  await widget.getByText(/^Export \d+: done, (\d+) of \1 orders$/).waitFor({ timeout: 60_000 });
  await widget.getByText(/^The result: \d+ orders worth/).waitFor();
  const log = await widget.locator('.jobs-log li').allInnerTexts();
  assert.match(log.at(-1), /^GET \/labs\/api\/exports\/\d+\/result → 200$/);
  assert.match(log[0], /^POST \/labs\/api\/exports → 202$/);
  assert.ok(log.some((line) => /^GET \/labs\/api\/exports\/\d+ → 200 \(×\d+\)$/.test(line)), log.join('\n'));
  assert.deepEqual(await seriousViolations(page), []);
  await widget.screenshot({ path: path.join(shots, 'api-jobs-console.png') });

  // From the keyboard: start another, then cancel it while it runs.
  await start.focus();
  await page.keyboard.press('Enter');
  const cancel = widget.getByRole('button', { name: 'Cancel it' });
  await widget.getByText(/: running, /).waitFor();
  await cancel.focus();
  await page.keyboard.press('Enter');
  await widget.getByText(/^Export \d+: cancelled, /).waitFor({ timeout: 30_000 });
  assert.equal(await widget.locator('caption', { hasText: 'The result' }).count(), 0);
  assert.ok((await widget.locator('.jobs-log li').allInnerTexts()).some((line) => /^DELETE .* → 202$/.test(line)));
  await page.close();
});
