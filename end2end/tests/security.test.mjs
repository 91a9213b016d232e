// The reflected XSS of the security review, tried as the attacker did: a
// signed-in admin opens a link whose lab response carries a script meant to
// act as them. Nothing may run, and nothing may change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

/** What the attacker's script would do with the admin's session. */
const PAYLOAD = `<script>
  document.title = 'pwned';
  fetch('/api/instructor/tokens', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'attacker' }) });
</script><h1>Your grades</h1>`;

test('a link with a script in a lab response runs nothing for a signed-in admin', async () => {
  const { baseUrl } = env.server;
  const page = await env.browser.context.newPage();
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Name').fill('Root Admin');
  await page.getByLabel('Email').fill('root@example.com');
  await page.getByLabel('Password').fill('a long admin passphrase');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('header.site-header').getByRole('link', { name: 'Root Admin' }).waitFor();
  env.server.workbench('user', 'add', 'root@example.com', '--role', 'admin');
  await env.server.changesSeen();

  const posts = [];
  page.on('request', (request) => {
    if (request.method() !== 'GET') posts.push(`${request.method()} ${request.url()}`);
  });
  const link = `${baseUrl}/labs/http/status/200?content_type=${encodeURIComponent('text/html')}&body=${encodeURIComponent(PAYLOAD)}`;
  const response = await page.goto(link);
  assert.equal(response.status(), 200, 'the lab still shows the specimen');
  await page.getByRole('heading', { name: 'Your grades' }).waitFor();
  assert.notEqual(await page.title(), 'pwned', 'the script did not run');
  assert.deepEqual(posts, [], 'no request was made in the admin\'s name');

  // A redirect a browser would read as another origin is refused.
  for (const location of ['/\t/evil.example', '/\\evil.example', '//evil.example']) {
    const refused = await page.goto(`${baseUrl}/labs/http/status/302?location=${encodeURIComponent(location)}`);
    assert.equal(refused.status(), 400, JSON.stringify(location));
    assert.ok(page.url().startsWith(baseUrl), `still on the workbench, at ${page.url()}`);
  }

  // Back on a real page as the admin: no token was made for the attacker.
  await page.goto(`${baseUrl}/account`);
  const tokens = await page.evaluate(async () => (await fetch('/api/instructor/tokens')).json());
  assert.deepEqual(tokens, [], 'no API token exists');
  await page.close();
});

test('the policy blocks none of the pages\' own scripts, signed out or in', async () => {
  const { baseUrl } = env.server;
  const pages = ['/', '/signin', '/lessons/http/anatomy', '/lessons/rate-limiting/algorithms', '/lessons/caching/why-cache'];
  const blocked = async (context) => {
    const found = [];
    for (const path of pages) {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (/Content Security Policy/.test(message.text())) found.push(`${path}: ${message.text().slice(0, 160)}`);
      });
      await page.goto(`${baseUrl}${path}`);
      await page.waitForLoadState('networkidle');
      await page.close();
    }
    return found;
  };
  const reader = env.browser.context;
  await reader.clearCookies();
  assert.deepEqual(await blocked(reader), [], 'signed out');
  const signUp = await reader.newPage();
  await signUp.goto(`${baseUrl}/signup`);
  await signUp.getByLabel('Name').fill('Careful Reader');
  await signUp.getByLabel('Email').fill('careful@example.com');
  await signUp.getByLabel('Password').fill('correct horse battery');
  await signUp.getByRole('button', { name: 'Create account' }).click();
  await signUp.locator('header.site-header').getByRole('link', { name: 'Careful Reader' }).waitFor();
  await signUp.close();
  assert.deepEqual(await blocked(reader), [], 'signed in');
});
