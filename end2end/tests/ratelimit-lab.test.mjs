// The rate-limit lab in a real browser: fire a burst from the console, see
// some requests refused with 429 and the chart show them; run the
// side-by-side simulation and see the fixed window let the boundary burst
// through while the sliding log does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('a burst gets some 429s, the chart shows them, and the simulator compares algorithms', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/rate-limiting/algorithms`);
  const consoleWidget = page.locator('.ratelimit-console[data-hydrated="true"]');
  await consoleWidget.waitFor({ timeout: 30_000 });
  await consoleWidget.locator('fieldset.rl-settings:not([disabled])').waitFor();

  // The default limiter: a bucket of 10 refilling at 1/s. Thirty at once.
  await consoleWidget.getByLabel('Requests', { exact: true }).fill('30');
  await consoleWidget.getByRole('button', { name: 'Fire' }).click();
  const summary = consoleWidget.getByTestId('rl-summary');
  await assert.doesNotReject(summary.filter({ hasText: /^30 requests/ }).waitFor({ timeout: 30_000 }));
  const text = await summary.innerText();
  const [, accepted, refused] = text.match(/(\d+) accepted, (\d+) refused/).map(Number);
  assert.ok(accepted >= 10 && accepted < 30, text);
  assert.ok(refused > 0, text);
  const chart = consoleWidget.getByRole('img', { name: /accepted/ });
  assert.equal(await chart.locator('.rl-refused').count(), refused);
  assert.equal(await chart.locator('.rl-ok').count(), accepted);

  const simulator = page.locator('.ratelimit-simulator[data-hydrated="true"]');
  await simulator.getByRole('button', { name: 'Simulate all algorithms' }).click();
  const lanes = simulator.locator('.rl-lane');
  await lanes.first().waitFor();
  assert.equal(await lanes.count(), 6);
  assert.match(await simulator.locator('.rl-lane[data-algorithm="fixed_window"]').innerHTML(), /20 of 20 allowed/);
  assert.match(await simulator.locator('.rl-lane[data-algorithm="sliding_window_log"]').innerHTML(), /10 of 20 allowed/);
  assert.deepEqual(await seriousViolations(page), []);
  await consoleWidget.screenshot({ path: path.join(shots, 'ratelimit-console.png') });
  await simulator.screenshot({ path: path.join(shots, 'ratelimit-simulator.png') });
  await page.close();
});
