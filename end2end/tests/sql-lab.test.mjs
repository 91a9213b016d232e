// The SQL lab in a real browser: run a join from a lesson and see rows,
// explain a query (a full scan), create an index from the editor with
// Ctrl+Enter, and see the plan become an index search. Then the schema
// browser's diagram and the transactions demo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

async function replaceQuery(runner, sql) {
  const editor = runner.getByRole('textbox');
  await editor.fill(sql);
  return editor;
}

test('a join shows rows; an index created from the editor changes the plan', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/databases/joins`);
  const runner = page.locator('.sql-runner[data-hydrated="true"]').first();
  await runner.waitFor({ timeout: 30_000 });
  await runner.getByRole('button', { name: /Run/ }).click();
  const grid = runner.locator('.sql-grid table');
  await grid.waitFor();
  assert.equal(await grid.locator('tbody tr').count(), 5);
  const headers = await grid.locator('thead th').allInnerTexts();
  assert.ok(headers.some((h) => h.startsWith('name')), `${headers}`);
  assert.match(await runner.locator('.sql-summary').innerText(), /^5 rows in [\d.]+ ms/);
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'sql-join.png'), fullPage: false });

  // An exercise card takes a query in the same editor and grades it on two datasets.
  const card = page.locator('.exercise-card', { hasText: 'Who cancelled?' });
  await card.getByRole('textbox', { name: 'Your query' }).fill(
    "SELECT orders.id, customers.name FROM customers JOIN orders ON orders.customer_id = customers.id WHERE status = 'cancelled'",
  );
  await card.getByRole('button', { name: 'Check' }).click();
  await assert.doesNotReject(card.getByText('All checks passed: 2 of 2 points').waitFor());
  assert.match(await card.innerText(), /hidden dataset/);

  await page.goto(`${env.server.baseUrl}/lessons/databases/indexes`);
  const first = page.locator('.sql-runner[data-hydrated="true"]').first();
  await first.waitFor({ timeout: 30_000 });
  const query = 'SELECT id, placed_at, status FROM orders WHERE customer_id = 42';
  await replaceQuery(first, query);
  await first.getByRole('button', { name: 'Explain plan' }).click();
  await assert.doesNotReject(first.locator('.plan-scan', { hasText: 'SCAN orders' }).waitFor());

  // Ctrl+Enter runs what is in the editor.
  const editor = await replaceQuery(first, 'CREATE INDEX idx_orders_customer ON orders (customer_id)');
  await editor.press('Control+Enter');
  await assert.doesNotReject(first.locator('.sql-summary', { hasText: /^Done/ }).waitFor());

  await replaceQuery(first, query);
  await first.getByRole('button', { name: 'Explain plan' }).click();
  const search = first.locator('.plan-search');
  await search.waitFor();
  assert.match(await search.innerText(), /SEARCH orders USING INDEX idx_orders_customer \(customer_id=\?\)/);
  await first.getByRole('button', { name: /Run/ }).click();
  await assert.doesNotReject(first.locator('.sql-summary', { hasText: /^17 rows/ }).waitFor());

  // A REAL keeps its point, as SQL typed it; an INTEGER has none.
  await replaceQuery(first, 'SELECT 4 / 2.0 AS real_half, 5 / 2 AS integer_half, NULL AS empty');
  await first.getByRole('button', { name: /Run/ }).click();
  const cells = first.locator('.sql-grid tbody td');
  await first.locator('.sql-summary', { hasText: /^1 row in/ }).waitFor();
  assert.deepEqual(await cells.allInnerTexts(), ['2.0', '2', 'NULL']);
  assert.deepEqual(
    await cells.evaluateAll((tds) => tds.map((td) => td.className)),
    ['cell-number', 'cell-number', 'cell-null'],
  );

  // An error comes back inline, with where it is.
  await replaceQuery(first, 'SELECT nope FROM orders');
  await first.getByRole('button', { name: /Run/ }).click();
  const error = first.getByRole('alert');
  await error.waitFor();
  assert.match(await error.innerText(), /line 1, column 8.*no such column: nope/s);
  await page.close();
});

test('the schema browser draws the shop; the transactions demo loses an update, then does not', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/databases/tables-and-keys`);
  const schema = page.locator('.sql-schema[data-hydrated="true"]');
  await schema.waitFor({ timeout: 30_000 });
  // The shop's eight tables, the six the auth lab keeps in it, and the API lab's three.
  const diagram = schema.getByRole('img', { name: /Entity-relationship diagram of 17 tables/ });
  await diagram.waitFor();
  assert.equal(await diagram.locator('.er-table').count(), 17);
  assert.ok((await diagram.locator('.er-link').count()) >= 8, 'foreign keys are drawn');
  await schema.locator('summary', { hasText: 'order_items' }).click();
  assert.match(await schema.locator('.schema-table', { hasText: 'order_items' }).innerText(), /product_id[\s\S]*→ products\.id/);
  assert.deepEqual(await seriousViolations(page), []);
  await schema.screenshot({ path: path.join(shots, 'sql-schema.png') });

  await page.goto(`${env.server.baseUrl}/lessons/databases/transactions`);
  const demo = page.locator('.withdrawal[data-hydrated="true"]');
  await demo.waitFor({ timeout: 30_000 });
  await demo.getByRole('button', { name: /Withdraw 100/ }).click();
  await assert.doesNotReject(demo.locator('.verdict-bad', { hasText: 'Lost update: the balance is 250' }).waitFor());
  await demo.getByLabel('Transaction').selectOption('immediate');
  await demo.getByRole('button', { name: /Withdraw 100/ }).click();
  await assert.doesNotReject(demo.locator('.verdict-good', { hasText: 'the balance is 150' }).waitFor());
  assert.ok((await demo.locator('.step-failed', { hasText: 'waits' }).count()) > 0, 'B waited for A');
  await demo.getByRole('button', { name: 'Run the failing transfer' }).click();
  await assert.doesNotReject(demo.locator('.transfer-run', { hasText: '500 created from nothing' }).waitFor());
  assert.deepEqual(await seriousViolations(page), []);
  await demo.screenshot({ path: path.join(shots, 'sql-withdrawal.png') });
  await page.close();
});

test('the index experiment on a phone, in the dark theme, shows both plans and times', async () => {
  const page = await env.browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  // The first test added an index to this student's sandbox: start afresh.
  const reset = await page.request.delete(`${env.server.baseUrl}/labs/sql/sandbox`);
  assert.equal(reset.status(), 204);
  await page.goto(`${env.server.baseUrl}/lessons/databases/indexes`);
  const experiment = page.locator('.index-experiment[data-hydrated="true"]');
  await experiment.waitFor({ timeout: 30_000 });
  await experiment.getByRole('textbox', { name: 'CREATE INDEX statement' }).fill(
    'CREATE INDEX idx_orders_customer_status ON orders (customer_id, status)',
  );
  await experiment.getByRole('button', { name: 'Run the experiment' }).click();
  const sides = experiment.locator('.experiment-side');
  await sides.nth(1).waitFor();
  assert.match(await sides.nth(0).innerText(), /Before[\s\S]*ms median[\s\S]*SCAN orders/);
  assert.match(await sides.nth(1).innerText(), /After[\s\S]*SEARCH orders USING (COVERING )?INDEX idx_orders_customer_status/);
  assert.match(await experiment.locator('.experiment-speedup').innerText(), /faster with the index/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
  assert.deepEqual(await seriousViolations(page), []);
  await experiment.screenshot({ path: path.join(shots, 'sql-index-experiment-phone-dark.png') });
  await page.close();
});
