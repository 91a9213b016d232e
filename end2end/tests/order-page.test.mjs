// The order-page console in a real browser: a student builds one
// customer's page by the monolith and by the BFF, sees the BFF's many
// calls, makes the catalog flaky and compares 50 pages each way, then
// turns on parallel and batched calls and sees the failures fall; axe
// clean, in both themes and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

async function setNumber(scope, label, value) {
  const field = scope.getByLabel(label, { exact: true });
  await field.fill(String(value));
  await field.dispatchEvent('change');
}

async function save(console_) {
  await console_.getByRole('button', { name: 'Save settings' }).click();
  await console_.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });
}

/** Pages failed, from the table's words ("none" or "12 (12 by catalog)"). */
const failedCount = (text) => (text === 'none' ? 0 : Number.parseInt(text, 10));

/** The BFF row of the comparison table: [whole, failed, calls a page]. */
async function bffRow(console_) {
  const cells = console_.getByTestId('shop-run-BFF').locator('td');
  return [await cells.nth(0).innerText(), await cells.nth(1).innerText(), await cells.nth(2).innerText()];
}

test('the BFF makes many calls where the monolith makes one, and batching saves pages', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/architecture/monolith-and-services`);
  const console_ = page.locator('.shop-console[data-hydrated="true"]');
  await console_.waitFor({ timeout: 30_000 });

  await setNumber(console_, 'Customer (1 to 50)', 1);
  await console_.getByRole('button', { name: 'Build their page both ways' }).click();
  const bff = console_.getByTestId('shop-built-bff');
  await bff.waitFor({ timeout: 15_000 });
  assert.match(await console_.getByTestId('shop-built-monolith').innerText(), /1 query/);
  assert.match(await bff.innerText(), /14 calls over HTTP/);
  assert.match(await bff.innerText(), /4 orders, 12 lines/);

  await setNumber(console_, 'catalog: % errors', 5);
  await setNumber(console_, 'Seed', 2026);
  await save(console_);
  await console_.getByRole('button', { name: 'Compare 50 pages' }).click();
  await console_.getByTestId('shop-run-BFF').waitFor({ timeout: 45_000 });
  const [, naiveFailed, naiveCalls] = await bffRow(console_);
  // Two calls, then one per line (8.38 a page when none fails), until a
  // failed call stops the page.
  const perPage = Number.parseFloat(naiveCalls);
  assert.ok(perPage > 5 && perPage <= 8.38, `one catalog call per line: ${naiveCalls}`);
  const naive = failedCount(naiveFailed);
  assert.ok(naive >= 5, `a flaky catalog fails many naive pages: ${naiveFailed}`);

  await console_.getByLabel('Calls at once (parallel)').check();
  await console_.getByLabel('One catalog call for all items (batch)').check();
  await save(console_);
  await console_.getByRole('button', { name: 'Compare 50 pages' }).click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="shop-run-BFF"] td:nth-child(4)')?.textContent === '3.00',
    null,
    { timeout: 45_000 },
  );
  const [, batchedFailed] = await bffRow(console_);
  const batched = failedCount(batchedFailed);
  assert.ok(batched < naive / 2, `batching leaves fewer chances to fail: ${batchedFailed} against ${naiveFailed}`);

  assert.deepEqual(await seriousViolations(page), []);
  await console_.screenshot({ path: path.join(shots, 'order-page.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await console_.screenshot({ path: path.join(shots, 'order-page-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await console_.screenshot({ path: path.join(shots, 'order-page-phone.png') });
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});
