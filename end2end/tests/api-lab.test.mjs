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
