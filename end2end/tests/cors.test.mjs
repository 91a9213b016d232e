// The CORS and CSRF demos in a real browser: a page on the workbench's
// second origin is blocked until the student's settings allow it, the
// preflight shows in the lesson's list of recent requests, and a forged
// form post from that origin carries its cookies: refused by default, and
// accepted once the student switches the auth lab's csrf_check off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('another origin is blocked until the settings allow it, and its preflight is in the lesson', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/lessons/http/urls-headers-and-cors`);
  assert.deepEqual(await seriousViolations(page), []);

  // The lesson's link leads to another origin on the same host.
  await Promise.all([
    page.waitForURL((url) => url.port !== new URL(env.server.baseUrl).port),
    page.getByRole('link', { name: 'Open the other site' }).click(),
  ]);
  const otherOrigin = new URL(page.url()).origin;
  assert.equal(await page.locator('#own-origin').textContent(), otherOrigin);
  assert.deepEqual(await seriousViolations(page), []);
  const result = page.locator('#cors-result');
  const headerButton = page.getByRole('button', { name: 'GET with an X-Demo-Note header' });

  await headerButton.click();
  await assert.doesNotReject(result.filter({ hasText: 'Blocked' }).waitFor());

  // The student allows that origin and the header.
  const saved = await page.request.put(`${env.server.baseUrl}/labs/http/settings`, {
    data: { cors_allowed_origins: [otherOrigin], cors_allowed_headers: ['X-Demo-Note'] },
  });
  assert.equal(saved.status(), 200, await saved.text());
  await headerButton.click();
  await assert.doesNotReject(result.filter({ hasText: 'Read it: 200' }).waitFor());
  assert.match(await result.textContent(), /CORS is enforced by the browser/);
  await page.screenshot({ path: path.join(shots, 'other-site-light.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'other-site-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });

  // With a max age the browser keeps the preflight's answer, as the lesson
  // says: of two more presses, only the first is preflighted.
  const kept = await page.request.put(`${env.server.baseUrl}/labs/http/settings`, {
    data: { cors_allowed_origins: [otherOrigin], cors_allowed_headers: ['X-Demo-Note'], cors_max_age_secs: 600 },
  });
  assert.equal(kept.status(), 200, await kept.text());
  const sent = async () => {
    const traces = await (await page.request.get(`${env.server.baseUrl}/api/traces`)).json();
    const count = (method) => traces.filter((t) => t.method === method && t.path.startsWith('/labs/http/cors/notes')).length;
    return { options: count('OPTIONS'), gets: count('GET') };
  };
  const press = async () => {
    await headerButton.click();
    await page.waitForFunction(() => /^Read it: 200/.test(document.querySelector('#cors-result').textContent));
  };
  const start = await sent();
  await press();
  await press();
  assert.deepEqual(await sent(), { options: start.options + 1, gets: start.gets + 2 });

  // Back in the lesson, the list shows the preflight, with its trace.
  await page.goBack();
  const list = page.getByRole('region', { name: 'Your recent lab requests' });
  await list.getByRole('button', { name: 'Refresh' }).click();
  const preflight = list.locator('li', { hasText: 'OPTIONS /labs/http/cors/notes' }).first();
  await assert.doesNotReject(preflight.waitFor());
  await preflight.getByRole('button', { name: 'Show trace' }).click();
  await assert.doesNotReject(
    preflight.locator('.timeline-summary', { hasText: 'the browser may send the request' }).waitFor(),
  );
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: path.join(shots, 'cors-lesson-recent.png'), fullPage: false });

  // The preflight passes the exercise.
  const graded = await page.request.post(`${env.server.baseUrl}/api/exercises/http-cors-preflight/attempts`, {
    data: { answer: {} },
  });
  const outcome = (await graded.json()).outcome;
  assert.equal(outcome.score, outcome.max, JSON.stringify(outcome));
  await page.close();
});

test('a forged form post from the other origin carries the cookies: refused, then accepted with csrf_check off', async () => {
  const page = await env.browser.context.newPage();
  const base = env.server.baseUrl;
  // A seller signed in to the demo shop: the browser now holds the lab's cookie.
  const registered = await page.request.post(`${base}/labs/auth/users`, {
    data: { username: 'sam', password: 'hunter2', role: 'seller' },
  });
  assert.equal(registered.status(), 201, await registered.text());
  assert.equal((await page.request.post(`${base}/labs/auth/login`, {
    data: { username: 'sam', password: 'hunter2' },
  })).status(), 200);
  await page.goto(`${base}/lessons/auth/sessions-and-cookies`);
  await Promise.all([
    page.waitForURL((url) => url.port !== new URL(base).port),
    page.getByRole('link', { name: 'open the other site' }).click(),
  ]);
  const forge = async () => {
    const posted = page.context().waitForEvent('response', (r) => r.url().endsWith('/labs/auth/products'));
    const opened = page.context().waitForEvent('page');
    await page.getByRole('button', { name: 'Send the forged POST' }).click();
    const response = await posted;
    const sent = await response.request().allHeaders();
    const body = await response.text();
    await (await opened).close();
    return { status: response.status(), cookie: sent.cookie ?? '', body };
  };

  const refused = await forge();
  assert.equal(refused.status, 403);
  assert.match(refused.cookie, /lab_session=/, 'the Strict lab cookie went along: same site, another origin');
  assert.match(refused.body, /Sec-Fetch-Site is `same-site`/);

  const off = await page.request.put(`${base}/labs/auth/settings`, { data: { csrf_check: false } });
  assert.equal(off.status(), 200, await off.text());
  const accepted = await forge();
  assert.equal(accepted.status, 201, accepted.body);
  const products = await (await page.request.get(`${base}/labs/auth/products`)).json();
  assert.deepEqual(products.map((p) => [p.name, p.owner]), [['A teapot, added by another site', 'sam']]);
  await page.request.delete(`${base}/labs/auth/settings`);
  await page.close();
});
