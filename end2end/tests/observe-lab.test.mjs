// The observe lab in a real browser: a student switches an incident on
// from the keyboard, sends load, and sees the errors on the dashboard and
// in the log, whose line opens its trace; then starts a fault hunt and
// saves a diagnosis. Axe clean, in both themes and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

const lesson = '/lessons/operating/observing-a-service';

test('an erroring replica shows on the dashboard, in the log and in the trace a log line opens', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const lab = page.locator('.observe-dashboard[data-hydrated="true"]');
  await lab.waitFor({ timeout: 30_000 });

  const erroring = lab.getByLabel('Erroring replica', { exact: false });
  await erroring.focus();
  await page.keyboard.press('Space');
  await lab.getByText('is on.', { exact: false }).waitFor({ timeout: 15_000 });
  assert.equal(await erroring.isChecked(), true);

  await lab.getByLabel('Requests', { exact: true }).fill('30');
  await lab.getByLabel('At once', { exact: true }).fill('4');
  await lab.getByRole('combobox', { name: /^Pages/ }).selectOption({ label: 'product pages' });
  await lab.getByRole('button', { name: 'Send load' }).click();
  await lab.getByText('Sent 30 requests', { exact: false }).waitFor({ timeout: 30_000 });
  assert.match(await lab.locator('[role="status"]').innerText(), /10 failed/);

  const products = lab.locator('.observe-routes tr', { hasText: '/shop/products/' });
  await products.waitFor();
  assert.deepEqual(
    (await products.locator('td').allInnerTexts()).slice(0, 2),
    ['30', '10'],
    'requests and errors of the product route',
  );
  assert.match(await lab.locator('figcaption').first().innerText(), /30 requests in 5 minutes, 10 failed/);

  const error = lab.locator('.log-error').first();
  assert.match(await error.innerText(), /replica 3 failed/);
  await error.getByRole('button', { name: 'Show trace' }).click();
  await error.locator('.timeline').waitFor({ timeout: 15_000 });
  assert.match(await error.locator('.timeline').innerText(), /replica\.call/);

  assert.deepEqual(await seriousViolations(page), []);
  await lab.screenshot({ path: path.join(shots, 'observe-lab.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await seriousViolations(page), []);
  await lab.screenshot({ path: path.join(shots, 'observe-lab-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await lab.screenshot({ path: path.join(shots, 'observe-lab-phone.png') });
  await page.close();
});

test('a fault hunt hides the switches and keeps the diagnosis the student saves', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const hunt = page.locator('.fault-hunt[data-hydrated="true"]');
  await hunt.waitFor({ timeout: 30_000 });
  await hunt.getByText('No hunt is on.').waitFor({ timeout: 15_000 });
  await hunt.getByRole('button', { name: 'Start a new hunt' }).click();
  await hunt.getByText(/Hunt number \d+ is on\./).waitFor({ timeout: 15_000 });
  const round = Number((await hunt.getByText(/Hunt number/).innerText()).match(/\d+/)[0]);

  const dashboard = page.locator('.observe-dashboard[data-hydrated="true"]');
  await dashboard.getByRole('button', { name: 'Refresh' }).click();
  await dashboard.getByText('A fault hunt is on', { exact: false }).waitFor({ timeout: 15_000 });
  assert.equal(await dashboard.getByLabel('Slow cache', { exact: false }).isDisabled(), true, 'switches wait for the hunt to end');

  await hunt.getByLabel('The component at fault').selectOption({ label: 'the cache' });
  await hunt.getByLabel('How it fails').selectOption({ label: 'each call is slow' });
  await hunt.getByLabel('A trace of yours', { exact: false }).fill('0af7651916cd43dd8448eb211c80319c');
  await hunt.getByRole('button', { name: 'Save the diagnosis' }).click();
  await hunt.getByText('Diagnosis saved', { exact: false }).waitFor({ timeout: 15_000 });

  const saved = await page.evaluate(async () => (await fetch('/labs/observe/settings')).json());
  assert.equal(saved.settings.hunt, round);
  assert.deepEqual(saved.settings.diagnosis, {
    component: 'cache',
    mechanism: 'latency',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
  });
  // A reload shows the diagnosis as saved.
  await page.reload();
  await hunt.waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    () => document.querySelector('.hunt-diagnosis input')?.value === '0af7651916cd43dd8448eb211c80319c',
    null,
    { timeout: 15_000 },
  );
  assert.equal(await hunt.getByLabel('The component at fault').inputValue(), 'cache');
  assert.deepEqual(await seriousViolations(page), []);
  await hunt.screenshot({ path: path.join(shots, 'observe-hunt.png') });
  await page.close();
});
