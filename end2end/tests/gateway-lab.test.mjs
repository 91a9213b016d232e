// The gateway console in a real browser: a student turns on health
// checks, runs the load generator against three replicas, kills one with
// its kill switch, and watches its share fall to zero and the success
// rate come back; the console is axe clean and readable in both themes
// and on a phone. The door's checks (an API key, a rate limit) switch on
// and off from the console too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

const lesson = '/lessons/architecture/load-balancing';

async function setNumber(scope, label, value) {
  const field = scope.getByLabel(label, { exact: true });
  await field.fill(String(value));
  await field.dispatchEvent('change');
}

/** The latest run, as the page's own session reads it. */
async function latestRun(page) {
  return page.evaluate(async () => (await fetch('/labs/gateway/load')).json());
}

test('a killed replica\'s share falls to zero and the success rate recovers', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const console_ = page.locator('.gateway-console[data-hydrated="true"]');
  await console_.waitFor({ timeout: 30_000 });
  await console_.locator('table.gw-replicas tbody tr').nth(2).waitFor({ timeout: 15_000 });

  await console_.getByLabel('Health checks').check();
  await console_.getByRole('button', { name: 'Save settings' }).click();
  await console_.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });

  await setNumber(console_, 'Requests a second', 50);
  await setNumber(console_, 'Seconds', 10);
  await console_.getByRole('button', { name: 'Start load' }).click();
  await console_.getByTestId('gw-figures').waitFor({ timeout: 15_000 });

  // Two seconds in, replica 3 is killed from the keyboard.
  const deadline = Date.now() + 15_000;
  while ((await latestRun(page)).elapsed_ms < 2000) {
    assert.ok(Date.now() < deadline, 'the run moves on');
    await page.waitForTimeout(100);
  }
  const kill = console_.getByRole('button', { name: 'Kill replica 3' });
  await kill.focus();
  await page.keyboard.press('Enter');
  await console_.getByTestId('gw-replica-3').getByText('killed').waitFor({ timeout: 15_000 });
  const killedAt = (await latestRun(page)).elapsed_ms;

  await console_.getByText('finished:', { exact: false }).waitFor({ timeout: 30_000 });
  const run = await latestRun(page);
  const seconds = run.per_second;
  const before = seconds[0];
  assert.ok(before.per_replica[2] > 0, `replica 3 answered before: ${JSON.stringify(before)}`);
  assert.ok(run.failed > 0, 'the killed replica\'s requests failed until it was ejected');
  // Health checks every second, two failures to eject: three seconds
  // after the kill it is out of the rotation.
  const later = seconds.filter((s) => s.second * 1000 >= killedAt + 3000);
  assert.ok(later.length >= 2, `seconds after the ejection: ${JSON.stringify(run)}`);
  for (const second of later) {
    assert.equal(second.per_replica[2], 0, `no share for the dead replica: ${JSON.stringify(second)}`);
    assert.equal(second.failed, 0, `the success rate is back: ${JSON.stringify(second)}`);
  }
  // The page says so too: the last second's caption, and the state.
  const caption = await console_.getByTestId('gw-chart-caption').innerText();
  assert.match(caption, /0 failed; by replica 1: \d+, 2: \d+, 3: 0/);

  assert.deepEqual(await seriousViolations(page), []);
  await console_.screenshot({ path: path.join(shots, 'gateway-console.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await console_.screenshot({ path: path.join(shots, 'gateway-console-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await console_.screenshot({ path: path.join(shots, 'gateway-console-phone.png') });
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});

test('the brownout replays at once against the saved settings', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/architecture/failing-well`);
  const console_ = page.locator('.gateway-console[data-hydrated="true"]');
  await console_.waitFor({ timeout: 30_000 });
  await setNumber(console_, 'Requests a second', 200);
  await setNumber(console_, 'Seconds', 60);
  await console_.getByLabel('Play the brownout').check();
  await setNumber(console_, 'Brownout from second', 20);
  await console_.getByRole('button', { name: 'Replay at once' }).click();
  await console_.getByText('Replayed on a virtual clock', { exact: false }).waitFor({ timeout: 15_000 });
  const success = await console_.getByTestId('gw-success').innerText();
  assert.match(success, /^\d+\.\d %$/);
  assert.ok(parseFloat(success) < 99.5, `the defaults lose replica 2's errors and replica 1's timeouts: ${success}`);
  const chart = await console_.getByTestId('gw-chart-caption').innerText();
  assert.match(chart, /^Second 59: \d+ answered, \d+ failed/);
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});

test('the door\'s checks are switched on from the console and hold for the next request', async () => {
  // A new guest, whose replicas are all up (the first test killed one).
  await env.browser.context.clearCookies();
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const console_ = page.locator('.gateway-console[data-hydrated="true"]');
  await console_.waitFor({ timeout: 30_000 });
  const door = console_.getByTestId('gw-front-door');
  await door.getByText('web-shop-key-1', { exact: false }).waitFor({ timeout: 15_000 });
  assert.match(await door.innerText(), /No rate limit\./);

  await console_.getByLabel('Require an API key (X-Api-Key)').check();
  await console_.getByLabel('Rate limit', { exact: true }).check();
  assert.match(await door.innerText(), /token bucket, capacity 10, counted by student\./);
  await console_.getByRole('button', { name: 'Save settings' }).click();
  await console_.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });

  const status = (key) => page.evaluate(async (key) => {
    const headers = key ? { 'X-Api-Key': key } : {};
    return (await fetch('/labs/gateway/catalog/items/7', { headers })).status;
  }, key);
  assert.equal(await status(null), 401, 'no key: refused at the door');
  assert.equal(await status('web-shop-key-1'), 200, 'a known key: through to a replica');

  // Turned off again, the door lets a keyless request through.
  await console_.getByLabel('Require an API key (X-Api-Key)').uncheck();
  await console_.getByLabel('Rate limit', { exact: true }).uncheck();
  await console_.getByRole('button', { name: 'Save settings' }).click();
  await console_.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });
  assert.equal(await status(null), 200);
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});
