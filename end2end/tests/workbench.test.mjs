// The workbench in a real browser: lessons render, widgets hydrate and send
// real requests, traces open, pages pass axe, and both themes work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

async function openLesson(page, slug) {
  await page.goto(`${env.server.baseUrl}/lessons/http/${slug}`);
  // Widgets mark themselves once hydrated; before that their buttons do nothing.
  await page.locator('.request-widget[data-hydrated="true"]').first().waitFor({ timeout: 30_000 });
}

test('the course home lists the lessons and has no serious accessibility violations', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(env.server.baseUrl);
  await assert.doesNotReject(page.getByRole('link', { name: 'Anatomy of an HTTP request' }).waitFor());
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'home.png'), fullPage: true });
  await page.close();
});

test('a student edits a request in the widget, sends it, sees 200 and the echoed header, and opens its trace', async () => {
  const page = await env.browser.context.newPage();
  await openLesson(page, 'anatomy');
  const widget = page.locator('.request-widget').first();
  const value = widget.getByRole('textbox', { name: 'Header value' }).nth(1);
  await value.fill('playwright-e2e');
  await widget.getByRole('button', { name: 'Send' }).click();

  await assert.doesNotReject(widget.locator('.status', { hasText: '200' }).waitFor());
  const body = await widget.locator('.response-body').innerText();
  assert.match(body, /"x-student",\s*"playwright-e2e"/);

  await widget.getByRole('button', { name: 'Show trace' }).click();
  const timeline = widget.getByRole('list', { name: 'Trace timeline' });
  await assert.doesNotReject(timeline.waitFor());
  const kinds = await timeline.locator('.timeline-kind').allInnerTexts();
  for (const kind of ['http.request', 'session.load', 'http.echo', 'http.response']) {
    assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
  }
  await widget.screenshot({ path: path.join(shots, 'widget.png') });
  await page.close();
});

test('header rows come and go from the keyboard, and a header browsers will not send is named', async () => {
  const page = await env.browser.context.newPage();
  await openLesson(page, 'anatomy');
  const widget = page.locator('.request-widget').first();
  const names = widget.getByRole('textbox', { name: 'Header name' });
  const before = await names.count();
  const note = widget.locator('.forbidden-note');
  assert.equal(await note.isHidden(), true, 'no forbidden header yet');

  await widget.getByRole('button', { name: 'Add header' }).click();
  assert.equal(await names.count(), before + 1);
  await page.keyboard.type('Cookie'); // the new row's name field has the focus
  await assert.doesNotReject(note.filter({ hasText: 'Browsers do not let a page set cookie;' }).waitFor());

  await widget.getByRole('button', { name: 'Remove header Cookie' }).click();
  assert.equal(await names.count(), before);
  assert.equal(await note.isHidden(), true, 'the note goes with the header');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Add header', 'focus stays in the widget');
  await page.close();
});

test('the widget sends bodies and shows 4xx answers with their JSON error', async () => {
  const page = await env.browser.context.newPage();
  await openLesson(page, 'status-codes-and-verbs');
  const widget = page.locator('.request-widget').first();
  await widget.getByRole('textbox', { name: 'URL' }).fill('/labs/http/status/302?location=https://evil.example/');
  await widget.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(widget.locator('.status', { hasText: '400' }).waitFor());
  assert.match(await widget.locator('.response-body').innerText(), /open redirect/);
  await page.close();
});

test('a lesson page has no serious accessibility violations in either theme', async () => {
  const page = await env.browser.context.newPage();
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await openLesson(page, 'anatomy');
  assert.deepEqual(violations, [], 'the page runs under its Content-Security-Policy');
  assert.deepEqual(await seriousViolations(page), [], 'light theme');
  await page.screenshot({ path: path.join(shots, 'lesson-light.png'), fullPage: false });

  const toggle = page.getByRole('button', { name: /Theme:/ });
  await toggle.click(); // system -> light
  await toggle.click(); // light -> dark
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.deepEqual(await seriousViolations(page), [], 'dark theme');
  await page.screenshot({ path: path.join(shots, 'lesson-dark.png'), fullPage: false });

  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice is remembered');
  await page.close();
});

test('a lesson reads well at phone width and the widget is usable by keyboard', async () => {
  const page = await env.browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await openLesson(page, 'anatomy');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);

  const widget = page.locator('.request-widget').first();
  await widget.getByRole('textbox', { name: 'URL' }).focus();
  await page.keyboard.press('Enter'); // submits the form like the Send button
  await assert.doesNotReject(widget.locator('.status', { hasText: '200' }).waitFor());
  await page.screenshot({ path: path.join(shots, 'lesson-phone.png'), fullPage: false });
  await page.close();
});
