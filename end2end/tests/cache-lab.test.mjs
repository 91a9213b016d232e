// The cache lab in a real browser: fetch a product (MISS), fetch it again
// (HIT), watch the latency chart and its figures update; change the price
// with invalidation off and see the stale price; fix the setting; stampede
// with and without coalescing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('miss then hit, the chart updates, stale reads, and a coalesced stampede', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/caching/why-cache`);
  const consoleWidget = page.locator('.cache-console[data-hydrated="true"]');
  await consoleWidget.waitFor({ timeout: 30_000 });
  // The settings load after hydration; the latency makes a miss obvious.
  await consoleWidget.locator('fieldset.cache-settings:not([disabled])').waitFor();
  await consoleWidget.getByLabel('Origin latency (ms)').fill('120');
  await consoleWidget.getByLabel('Origin latency (ms)').dispatchEvent('change');
  await consoleWidget.getByRole('button', { name: 'Save settings' }).click();
  await assert.doesNotReject(consoleWidget.getByText('Saved.').waitFor());

  const log = consoleWidget.getByRole('list', { name: 'What the cache did' });
  const chart = consoleWidget.getByRole('img', { name: /Latency of your last/ });
  const fetchProduct = consoleWidget.getByRole('button', { name: 'Fetch product' });
  await fetchProduct.click();
  await assert.doesNotReject(log.locator('li').first().locator('.cache-outcome-miss').waitFor());
  await fetchProduct.click();
  await assert.doesNotReject(log.locator('li').first().locator('.cache-outcome-hit').waitFor());
  await assert.doesNotReject(chart.locator('.cache-bar-hit').first().waitFor());
  assert.equal(await chart.locator('.cache-bar-miss').count(), 1);
  const figures = consoleWidget.getByTestId('cache-figures');
  await assert.doesNotReject(figures.filter({ hasText: '2 requests · hit ratio 50%' }).waitFor());

  // Invalidation is off by default: the old price comes back from the cache.
  const before = await log.locator('li').first().innerText();
  const oldPrice = before.match(/(\d+) cents/)[1];
  await consoleWidget.getByLabel('New price (cents)').fill('777');
  await consoleWidget.getByRole('button', { name: 'Change price' }).click();
  await assert.doesNotReject(log.getByText(/cache left alone/).waitFor());
  await fetchProduct.click();
  await assert.doesNotReject(log.locator('li').first().filter({ hasText: `GET product 42 → 200 · ${oldPrice} cents` }).waitFor());

  await consoleWidget.getByLabel('Invalidate on write').check();
  await consoleWidget.getByLabel('Coalesce concurrent misses').check();
  await consoleWidget.getByRole('button', { name: 'Save settings' }).click();
  await assert.doesNotReject(consoleWidget.getByText('Saved.').waitFor());
  await consoleWidget.getByLabel('New price (cents)').fill('888');
  await consoleWidget.getByRole('button', { name: 'Change price' }).click();
  await assert.doesNotReject(log.getByText(/cached copy invalidated/).waitFor());
  await fetchProduct.click();
  await assert.doesNotReject(log.locator('li').first().filter({ hasText: /GET product 42 → 200 · 888 cents/ }).waitFor());
  assert.ok(await log.locator('li').first().locator('.cache-outcome-miss').count(), await log.innerText());

  await consoleWidget.getByRole('button', { name: 'Stampede' }).click();
  await assert.doesNotReject(log.getByText(/20 requests for cold product 42 · origin hit 1 time\(s\) · coalescing on/).waitFor());
  await assert.doesNotReject(figures.filter({ hasText: /4 requests .* origin hit 3 times/ }).waitFor());
  assert.deepEqual(await seriousViolations(page), []);
  await consoleWidget.screenshot({ path: path.join(shots, 'cache-console.png') });
  await page.close();
});
