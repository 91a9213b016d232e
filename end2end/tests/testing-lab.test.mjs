// The testing lab in a real browser: a student writes a three-step suite,
// saves and runs it, and sees the score and what each surviving mutant
// would have needed; then a suite that is wrong on the correct API is
// shown as wrong, not as a score. Axe clean, in both themes and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

const lesson = '/lessons/operating/testing-an-api';

const threeSteps = `[[steps]]
name = "Alice creates a todo"
method = "POST"
path = "/todos"
headers = { authorization = "Bearer alice", content-type = "application/json" }
body = '{"title": "write tests"}'
status = 201
expect_header_paths = { location = "/todos/" }
capture = { todo = "header:location" }

[[steps]]
name = "Bob cannot read it"
path = "{todo}"
headers = { authorization = "Bearer bob" }
status = 404

[[steps]]
name = "no token, no todos"
path = "/todos"
status = 401
`;

test('a three-step suite is scored by the mutants it kills, and survivors are explained', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const lab = page.locator('.test-suite[data-hydrated="true"]');
  await lab.waitFor({ timeout: 30_000 });

  const editor = lab.getByLabel('Your suite', { exact: false });
  assert.match(await editor.inputValue(), /\[\[steps\]\]/, 'the starter suite is shown');
  await editor.fill(threeSteps);
  await lab.getByRole('button', { name: 'Save and run' }).click();
  await lab.getByText('Killed 4 of 12 mutants', { exact: false }).waitFor({ timeout: 30_000 });

  const survivors = lab.locator('.mutant-survived');
  assert.equal(await survivors.count(), 8);
  const lost = survivors.filter({ hasText: 'PATCH ignores If-Match' });
  assert.match(await lost.innerText(), /expect status = 412/);
  assert.equal(await lost.locator('code', { hasText: 'status = 412' }).count(), 1, 'code is shown as code');
  const killed = lab.locator('.mutant-killed');
  assert.equal(await killed.count(), 4);
  assert.match(
    await killed.filter({ hasText: 'Bob can read' }).innerText(),
    /caught by Bob cannot read it: status/,
  );

  // Saved: a reload shows the student's suite, not the starter.
  await page.reload();
  await lab.waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    () => document.querySelector('.suite-text')?.value.includes('no token, no todos'),
    null,
    { timeout: 15_000 },
  );

  assert.deepEqual(await seriousViolations(page), []);
  await lab.getByRole('button', { name: 'Save and run' }).click();
  await lab.getByText('Killed 4 of 12 mutants', { exact: false }).waitFor({ timeout: 30_000 });
  await lab.screenshot({ path: path.join(shots, 'testing-lab.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await seriousViolations(page), []);
  await lab.screenshot({ path: path.join(shots, 'testing-lab-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await lab.screenshot({ path: path.join(shots, 'testing-lab-phone.png') });
  await page.close();
});

test('a suite that fails on the correct API is shown as wrong, and a broken one says where', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const lab = page.locator('.test-suite[data-hydrated="true"]');
  await lab.waitFor({ timeout: 30_000 });
  const editor = lab.getByLabel('Your suite', { exact: false });

  await editor.fill(threeSteps.replace('status = 201', 'status = 200'));
  await lab.getByRole('button', { name: 'Save and run' }).click();
  await lab.getByText('fails on the correct API', { exact: false }).first().waitFor({ timeout: 30_000 });
  const failed = lab.locator('.check-failed');
  assert.match(await failed.first().innerText(), /Alice creates a todo: status.*expected 200.*answered 201/s);
  assert.equal(await lab.locator('.mutant-killed, .mutant-survived').count(), 0);

  await editor.fill('[[steps]]\nname = "x"\npath = /todos\n');
  await lab.getByRole('button', { name: 'Save and run' }).click();
  await lab.locator('.suite-error').getByText('line 3', { exact: false }).waitFor({ timeout: 15_000 });
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});

test('the doubles table shows which tests only the real database passes', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/operating/doubles-and-dependency-inversion`);
  const demo = page.locator('.test-doubles[data-hydrated="true"]');
  await demo.waitFor({ timeout: 30_000 });
  const run = demo.getByRole('button', { name: 'Run the four tests' });
  await run.focus();
  await page.keyboard.press('Enter');
  const rows = demo.locator('tbody tr');
  await rows.nth(3).waitFor({ timeout: 15_000 });
  assert.equal(await rows.count(), 4);
  const race = await rows.nth(2).innerText();
  assert.match(race, /failed[\s\S]*2 account\(s\)[\s\S]*passed[\s\S]*1 account\(s\)/);
  assert.match(await rows.nth(3).innerText(), /cannot run/);
  assert.deepEqual(await seriousViolations(page), []);
  await demo.screenshot({ path: path.join(shots, 'test-doubles.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await seriousViolations(page), []);
  await page.setViewportSize({ width: 390, height: 844 });
  await demo.screenshot({ path: path.join(shots, 'test-doubles-phone.png') });
  await page.close();
});
