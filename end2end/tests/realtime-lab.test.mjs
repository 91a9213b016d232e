// The real-time lab's console in a real browser: one message published
// reaches all four transports (a real EventSource and a real WebSocket
// included), the server's counts show the polls' empty answers, and the
// console is keyboard-usable, axe clean and readable in both themes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('a published message reaches all four transports', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/realtime/news-to-the-browser`);
  const widget = page.locator('.realtime-console[data-hydrated="true"]');
  await widget.waitFor({ timeout: 30_000 });

  // Start every transport by keyboard.
  for (const name of ['Short poll', 'Long poll', 'Server-sent events', 'WebSocket']) {
    const start = widget.getByRole('button', { name: `Start ${name}` });
    await start.focus();
    await page.keyboard.press('Enter');
    await widget.getByRole('button', { name: `Stop ${name}` }).waitFor();
  }
  // The stream and the socket are open before the message goes out.
  const openRow = widget.locator('tr', { has: page.getByRole('rowheader', { name: 'Open now' }) });
  await openRow.locator('td').nth(2).filter({ hasText: /^1$/ }).waitFor({ timeout: 15_000 });
  await openRow.locator('td').nth(3).filter({ hasText: /^1$/ }).waitFor({ timeout: 15_000 });

  await widget.getByLabel('Message').fill('Hello, class');
  await widget.getByRole('button', { name: 'Publish' }).click();
  for (const transport of ['short-poll', 'long-poll', 'sse', 'websocket']) {
    await widget.locator(`[data-received="${transport}"]`).filter({ hasText: /^1$/ }).waitFor({ timeout: 15_000 });
  }
  // The server counted the short poll's wasted requests.
  const emptyRow = widget.locator('tr', { has: page.getByRole('rowheader', { name: 'Empty answers' }) });
  await page.waitForFunction(
    (row) => Number(row.querySelectorAll('td')[0].textContent) > 0,
    await emptyRow.elementHandle(),
    { timeout: 15_000 },
  );
  const sseBytes = Number(await widget.locator('[data-bytes="sse"]').innerText());
  assert.ok(sseBytes > 0, `SSE bytes: ${sseBytes}`);

  assert.deepEqual(await seriousViolations(page), []);
  await widget.screenshot({ path: path.join(shots, 'realtime-console.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await widget.screenshot({ path: path.join(shots, 'realtime-console-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await widget.screenshot({ path: path.join(shots, 'realtime-console-phone.png') });

  // Stopping closes the socket, the stream and the waiting poll on the server too.
  await widget.getByRole('button', { name: 'Stop WebSocket' }).click();
  await widget.getByRole('button', { name: 'Stop Server-sent events' }).click();
  await openRow.locator('td').nth(3).filter({ hasText: /^0$/ }).waitFor({ timeout: 15_000 });
  await openRow.locator("td").nth(2).filter({ hasText: /^0$/ }).waitFor({ timeout: 30_000 });
  // A stopped long poll is given up at once, not held to its 20 s timeout.
  await widget.getByRole('button', { name: 'Stop Long poll' }).click();
  await openRow.locator('td').nth(1).filter({ hasText: /^0$/ }).waitFor({ timeout: 15_000 });
  await page.close();
});
