// Exercises in a real browser: a guest answers a quiz wrongly (feedback, no
// answer given away), then rightly (the card's standing updates), opens a
// hint, and orders items by keyboard. Its own server and browser profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

async function openCard(page, lesson, title) {
  await page.goto(`${env.server.baseUrl}/lessons/http/${lesson}`);
  const card = page.locator('.exercise-card', { has: page.getByRole('heading', { name: title }) });
  await card.and(page.locator('[data-hydrated="true"]')).waitFor({ timeout: 30_000 });
  return card;
}

test('a guest answers a quiz wrongly, then rightly, and the card keeps score', async () => {
  const page = await env.browser.context.newPage();
  const card = await openCard(page, 'status-codes-and-verbs', 'A resource was created');

  await card.getByLabel('200 OK').check();
  await card.getByRole('button', { name: 'Check' }).click();
  await assert.doesNotReject(card.getByText('Not yet: 0 of 1 points').waitFor());
  const feedback = await card.locator('.exercise-feedback').innerText();
  assert.match(feedback, /does not say that something new now exists|not that something new/);
  assert.doesNotMatch(feedback, /201/, 'the right answer is not given away');
  await assert.doesNotReject(card.getByText('Best so far: 0 of 1 points after 1 attempt.').waitFor());

  await card.getByRole('button', { name: /Show a hint/ }).click();
  await assert.doesNotReject(card.getByText('Hint 1').waitFor());

  await card.getByLabel('201 Created').check();
  await card.getByRole('button', { name: 'Check' }).click();
  await assert.doesNotReject(card.getByText('All checks passed: 1 of 1 points').waitFor());
  await assert.doesNotReject(card.getByText('Done: 1 of 1 points, in 2 attempts.').waitFor());
  assert.deepEqual(await seriousViolations(page), []);
  await card.screenshot({ path: path.join(shots, 'exercise-card.png') });

  // The standing survives a reload: it lives on the server.
  const again = await openCard(page, 'status-codes-and-verbs', 'A resource was created');
  await assert.doesNotReject(again.getByText('Done: 1 of 1 points, in 2 attempts.').waitFor());

  // And the progress page counts it.
  await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Progress' }).click();
  await assert.doesNotReject(page.getByText(/1 of 14 exercises passed/).waitFor());
  const row = page.getByRole('row', { name: /A resource was created/ });
  assert.match(await row.innerText(), /1 \/ 1\s+2\s+Done/);
  assert.deepEqual(await seriousViolations(page), [], 'progress page');
  await page.screenshot({ path: path.join(shots, 'progress.png'), fullPage: true });
  await page.close();
});

test('items are put in order from the keyboard', async () => {
  const page = await env.browser.context.newPage();
  const card = await openCard(page, 'anatomy', 'Put a request together');
  // Author's order: headers, body, request line, empty line.
  await card.getByRole('button', { name: 'Move The request line up' }).click();
  await card.getByRole('button', { name: 'Move The request line up' }).click();
  await card.getByRole('button', { name: 'Move An empty line up' }).focus();
  await page.keyboard.press('Enter');
  await card.getByRole('button', { name: 'Check' }).click();
  await assert.doesNotReject(card.getByText('All checks passed: 2 of 2 points').waitFor());
  await page.close();
});
