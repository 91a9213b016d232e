// The queue console in a real browser: a student sets one slow worker,
// queues an e-mail, kills the worker while it holds the job, and watches
// the job come back to a new worker and finish with one e-mail sent; the
// console is axe clean and readable in both themes and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

const lesson = '/lessons/realtime/queues-and-delivery-guarantees';

async function setNumber(queue, label, value) {
  const field = queue.getByLabel(label, { exact: true });
  await field.fill(String(value));
  await field.dispatchEvent('change');
}

test('a killed worker\'s job comes back and is done once', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}${lesson}`);
  const queue = page.locator('.queue-console[data-hydrated="true"]');
  await queue.waitFor({ timeout: 30_000 });

  await setNumber(queue, 'Workers', 1);
  await setNumber(queue, 'Work per job (ms)', 4000);
  await queue.getByRole('button', { name: 'Save settings' }).click();
  await queue.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });

  await setNumber(queue, 'E-mails to queue', 1);
  await queue.getByRole('button', { name: 'Queue e-mails' }).click();
  await queue.getByText('202 Accepted', { exact: false }).waitFor({ timeout: 15_000 });

  // The worker holding the job: kill it by keyboard.
  const busy = queue.locator('.queue-worker', { hasText: 'preparing the e-mail' });
  await busy.waitFor({ timeout: 15_000 });
  const name = await busy.locator('.queue-worker-name').innerText();
  const id = name.replace('Worker ', '');
  const kill = queue.getByRole('button', { name: `Kill now (worker ${id})` });
  await kill.focus();
  await page.keyboard.press('Enter');
  await queue.getByText(`Worker ${id} killed holding`, { exact: false }).waitFor({ timeout: 15_000 });

  // It comes back, redelivered, and a new worker finishes it.
  const row = queue.locator('.queue-jobs tbody tr').first();
  await row.locator('.queue-job-done').waitFor({ timeout: 30_000 });
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[3], '1', `redelivered once: ${cells}`);
  assert.equal(cells[4], '1', `one e-mail: ${cells}`);
  assert.equal(await queue.getByTestId('count-redelivered').locator('dd').innerText(), '1');
  assert.equal(await queue.getByTestId('count-lost').locator('dd').innerText(), '0');
  assert.equal(await queue.locator('.queue-outbox li').count(), 1);
  assert.equal(await queue.locator('.queue-worker', { hasText: `Worker ${id} ` }).count(), 0, 'the killed worker is gone');

  assert.deepEqual(await seriousViolations(page), []);
  await queue.screenshot({ path: path.join(shots, 'queue-console.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await queue.screenshot({ path: path.join(shots, 'queue-console-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await queue.screenshot({ path: path.join(shots, 'queue-console-phone.png') });
  await page.close();
});

test('a map-reduce run over the student\'s orders ends with SQL\'s answer', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/realtime/map-reduce`);
  const queue = page.locator('.queue-console[data-hydrated="true"]');
  await queue.waitFor({ timeout: 30_000 });

  await setNumber(queue, 'Workers', 2);
  await setNumber(queue, 'Work per job (ms)', 200);
  await queue.getByRole('button', { name: 'Save settings' }).click();
  await queue.getByText('Saved', { exact: false }).waitFor({ timeout: 15_000 });

  await setNumber(queue, 'Map tasks', 3);
  await queue.getByRole('button', { name: 'Run map-reduce' }).click();
  const verdict = queue.getByTestId('mapreduce-verdict');
  await verdict.getByText('the same as SQL', { exact: false }).waitFor({ timeout: 30_000 });
  const tasks = queue.locator('table', { hasText: 'Map tasks' }).locator('tbody tr');
  assert.equal(await tasks.count(), 3);
  assert.equal(await queue.locator('.queue-split-mapped').count(), 3);
  // Every country's two answers agree, cell for cell.
  const rows = queue.locator('table', { hasText: 'Revenue per country' }).locator('tbody tr');
  assert.ok(await rows.count() > 1, 'several countries');
  for (const cells of await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText)))) {
    assert.equal(cells[1], cells[2], `map-reduce and SQL agree: ${cells}`);
  }

  assert.deepEqual(await seriousViolations(page), []);
  await queue.locator('.queue-verdict').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'queue-mapreduce.png'), fullPage: false });
  await page.close();
});
