// Course search in a real browser: the header box suggests places as you
// type and opens one by keyboard; without JavaScript the same box opens a
// results page. Both pass axe. And on a phone the lesson's contents start
// closed, so the lesson itself is on the first screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('typing in the header suggests places, and arrow keys and Enter open one', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/http/anatomy`);
  const box = page.getByRole('combobox', { name: 'Search the course' });
  await box.click();
  await box.pressSequentially('thundering her', { delay: 20 });
  const list = page.getByRole('listbox', { name: 'Suggestions' });
  await list.waitFor();
  const first = list.getByRole('option').first();
  await assert.doesNotReject(first.filter({ hasText: 'Stampedes' }).waitFor());
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  await page.screenshot({ path: path.join(shots, 'search-suggestions.png') });
  assert.deepEqual(await seriousViolations(page), []);

  await page.keyboard.press('ArrowDown');
  assert.equal(await first.getAttribute('aria-selected'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await first.getAttribute('id'));
  await Promise.all([page.waitForURL(/\/lessons\/caching\/stampedes/), page.keyboard.press('Enter')]);
  await page.close();
});

test('without JavaScript the header box opens a results page that finds a lesson by a word in its body', async () => {
  // A browser of its own with JavaScript off (Playwright's own probes still run).
  const noScript = await openBrowser({ javaScriptEnabled: false });
  let page = await noScript.context.newPage();
  await page.goto(env.server.baseUrl);
  const box = page.getByRole('searchbox', { name: 'Search the course' });
  await box.fill('thundering herd');
  await Promise.all([page.waitForURL(/\/search\?q=thundering\+herd/), box.press('Enter')]);
  assert.equal(await page.title(), 'Search: thundering herd');
  const hit = page.locator('.search-hit').first();
  await assert.doesNotReject(hit.getByRole('link').waitFor());
  assert.match(await hit.getByRole('link').getAttribute('href'), /^\/lessons\/caching\/stampedes/);
  assert.ok((await hit.locator('mark').count()) >= 1, 'the matched words are marked');
  const resultsUrl = page.url();
  await noScript.close();

  // The same page, checked with axe (which needs script) in the usual browser.
  page = await env.browser.context.newPage();
  await page.goto(resultsUrl);
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'search-results-light.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'search-results-dark.png'), fullPage: true });
  await page.close();
});

test('a typo still finds, and a word nothing has is named', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/search?q=thundering+hred+zzqxv`);
  await assert.doesNotReject(page.locator('.search-hit a[href^="/lessons/caching/stampedes"]').first().waitFor());
  assert.match(await page.locator('.search-unmatched').innerText(), /zzqxv/);
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the results page scrolls sideways by ${overflow}px`);
  await page.screenshot({ path: path.join(shots, 'search-results-phone.png'), fullPage: false });
  await page.close();
});

test('on a phone the lesson contents start closed; on a wide screen they are a list', async () => {
  const page = await env.browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${env.server.baseUrl}/lessons/databases/indexes`);
  const narrow = page.locator('.toc details.toc-narrow');
  assert.equal(await narrow.isVisible(), true);
  assert.equal(await narrow.evaluate((d) => d.open), false);
  assert.equal(await page.locator('.toc .toc-wide').isVisible(), false);
  const firstParagraph = page.locator('.lesson p').first();
  const box = await firstParagraph.boundingBox();
  assert.ok(box && box.y < 844, `the lesson starts on the first screen (at ${box?.y}px)`);
  await page.screenshot({ path: path.join(shots, 'lesson-contents-phone.png'), fullPage: false });
  await narrow.locator('summary').click();
  assert.equal(await narrow.evaluate((d) => d.open), true);

  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(await page.locator('.toc .toc-wide').isVisible(), true);
  assert.equal(await narrow.isVisible(), false);
  await page.close();
});
