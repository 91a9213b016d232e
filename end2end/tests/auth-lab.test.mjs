// The auth lab in a real browser: register demo users, sign in, get a 403,
// change the permission matrix, get through, and read the decision in the
// trace. Its own server and browser profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('register, sign in, 403, edit the policy, get through, and see the decision traced', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/auth/roles-and-permissions`);
  const matrix = page.locator('.permission-matrix[data-hydrated="true"]');
  await matrix.waitFor({ timeout: 30_000 });

  // Register a buyer and sign in as them (session mode: the lab's own cookie).
  const api = page.request;
  const registered = await api.post(`${env.server.baseUrl}/labs/auth/users`, {
    data: { username: 'bo', password: 'hunter2', role: 'buyer' },
  });
  assert.equal(registered.status(), 201);
  const signedIn = await api.post(`${env.server.baseUrl}/labs/auth/login`, {
    data: { username: 'bo', password: 'hunter2' },
  });
  assert.equal(signedIn.status(), 200);

  // The lesson's request widget, sent with the session cookie instead of a token.
  // The first widget that adds a product (an earlier one shows a 401's challenge).
  const widget = page
    .locator('.request-widget')
    .filter({ has: page.locator('input[value="/labs/auth/products"]') })
    .first();
  await page.locator('.request-widget[data-hydrated="true"]').first().waitFor();
  const authorization = widget.getByRole('button', { name: 'Remove' }).nth(1);
  await authorization.click();
  await widget.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(widget.locator('.status', { hasText: '403' }).waitFor());
  assert.match(await widget.locator('.response-body').innerText(), /no rule lets buyer add_product/);

  // Let buyers add products, from the matrix.
  await matrix.getByRole('checkbox', { name: 'buyer may add_product' }).check();
  await assert.doesNotReject(matrix.getByText('Saved: buyer may now add_product.').waitFor());

  await widget.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(widget.locator('.status', { hasText: '201' }).waitFor());
  await widget.getByRole('button', { name: 'Show trace' }).click();
  const timeline = widget.getByRole('list', { name: 'Trace timeline' });
  await timeline.waitFor();
  const kinds = await timeline.locator('.timeline-kind').allInnerTexts();
  for (const kind of ['session.load', 'rbac.decision']) {
    assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
  }
  assert.match(await timeline.innerText(), /allowed: buyer may add_product/);
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'auth-lab.png'), fullPage: true });
  await page.close();
});

test('the hash inspector shows two users with one password getting different salts', async () => {
  const context = (await openBrowser());
  const page = await context.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/auth/storing-passwords`);
  const inspector = page.locator('.hash-inspector[data-hydrated="true"]');
  await inspector.waitFor({ timeout: 30_000 });
  await inspector.getByRole('button', { name: 'Register and hash' }).click();
  await assert.doesNotReject(inspector.getByText(/Stored ada in \d+ ms/).waitFor());
  await inspector.getByLabel('Username').fill('bob');
  await inspector.getByRole('button', { name: 'Register and hash' }).click();
  await assert.doesNotReject(inspector.getByText(/Stored bob in \d+ ms/).waitFor());
  const rows = inspector.locator('tbody tr');
  await assert.doesNotReject(rows.nth(1).waitFor());
  const salts = await inspector.locator('tbody tr td:nth-of-type(3)').allInnerTexts();
  assert.equal(salts.length, 2);
  assert.notEqual(salts[0], salts[1], 'same password, different salts');
  assert.deepEqual(await seriousViolations(page), []);
  await inspector.screenshot({ path: path.join(shots, 'hash-inspector.png') });
  await context.close();
});
