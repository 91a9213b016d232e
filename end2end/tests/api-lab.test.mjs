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
