// The labs' OpenAPI document is a contract the live server keeps:
// schemathesis (from PyPI, in tools/venv) sends generated requests to every
// documented lab route and fails on any server error or any answer the
// document does not allow. Then the reference page shows the same routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const schemathesis = path.join(repoRoot, 'tools/venv/bin/schemathesis');

// Operations that do on purpose what the checks call faults: changing
// settings can switch on the API lab's "lose the response" fault (a 502 by
// design) or several seconds of injected latency, and the HTTP lab's
// status route answers any status a student asks for, 5xx included. The
// transport race is slow on purpose (up to 30 requests of 200 ms, three
// ways) and holds its student's place while it runs. Their behaviour has
// tests of its own (settings validation, http_lab, under_http).
const DELIBERATE = 'put_settings$|^http_status_|transport_race$';

const env = useServerAndBrowser();

test('the document is OpenAPI 3.1 and covers every lab with its settings', async () => {
  const document = await (await fetch(`${env.server.baseUrl}/api/openapi.json`)).json();
  assert.match(document.openapi, /^3\.1\./);
  const tags = document.tags.map((tag) => tag.name);
  for (const lab of ['http', 'auth', 'sql', 'cache', 'ratelimit', 'api']) {
    assert.ok(tags.includes(lab), `tag ${lab}`);
    assert.ok(document.paths[`/labs/${lab}/settings`]?.put, `${lab} settings`);
  }
  const ids = [];
  for (const [route, item] of Object.entries(document.paths)) {
    assert.match(route, /^\/labs\/[a-z]+\//, route);
    assert.doesNotMatch(route, /\{\*/, `${route}: a wildcard is written {name} in OpenAPI`);
    for (const operation of Object.values(item)) {
      ids.push(operation.operationId);
      assert.ok(operation.summary, `${operation.operationId} has a summary`);
      assert.ok(operation.responses['4XX'], `${operation.operationId} documents its errors`);
    }
  }
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  const created = document.paths['/labs/api/orders'].post.responses['201'];
  assert.ok(created.headers.Location, '201 documents Location');
});

test('schemathesis finds no server error and no answer outside the document', async (t) => {
  if (!existsSync(schemathesis)) {
    t.skip('schemathesis is not installed: run scripts/setup.sh');
    return;
  }
  const reports = mkdtempSync(path.join(tmpdir(), 'workbench-contract-'));
  // One guest for the whole run, as a student's browser would be: without
  // it every request would be a new guest, and the guest limit's 429s would
  // hide the labs from the checks.
  const cookie = await guestCookie();
  const run = await runToEnd(
    schemathesis,
    [
      'run',
      `${env.server.baseUrl}/api/openapi.json`,
      '--header', `Cookie: ${cookie}`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance',
      '--exclude-operation-id-regex', DELIBERATE,
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', '30',
      '--seed', '17',
      '--workers', '2',
      '--request-timeout', '20',
      '--report', 'junit',
      '--report-junit-path', path.join(reports, 'junit.xml'),
    ],
    { env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  const summary = output.split('\n').filter((line) => /passed|failed|errored|operations|Test cases/i.test(line));
  console.log(summary.slice(-12).join('\n'));
  assert.equal(run.status, 0, `schemathesis failed:\n${output.slice(-20_000)}`);
  assert.match(output, /\d+ generated, \d+ passed/);
  assert.ok(readFileSync(path.join(reports, 'junit.xml'), 'utf8').includes('testcase'));
});

/**
 * Runs a command to its end without blocking this process, which must keep
 * reading the server's log while the command talks to the server.
 */
function runToEnd(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The session cookie of a new guest, as the first lab request sets it. */
async function guestCookie() {
  const response = await fetch(`${env.server.baseUrl}/labs/api/writer`);
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  assert.match(cookie, /workbench_session=/);
  return cookie;
}

test('the reference page shows every documented route, readable and accessible', async () => {
  const document = await (await fetch(`${env.server.baseUrl}/api/openapi.json`)).json();
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/reference`);
  await page.getByRole('heading', { level: 1, name: 'Lab API reference' }).waitFor();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      assert.equal(await page.locator(`article[id="${operation.operationId}"]`).count(), 1, operation.operationId);
    }
  }
  // Keyboard: the lab list's links are reachable and lead to their section.
  const apiLink = page.getByRole('navigation', { name: 'Labs' }).getByRole('link', { name: /Building APIs/ });
  await apiLink.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/#lab-api$/);
  // A body's shape links to its definition.
  const create = page.locator('article[id="api_create_order"]');
  await create.getByRole('link', { name: 'NewOrder' }).click();
  await page.waitForURL(/#shape-NewOrder$/);

  assert.deepEqual(await seriousViolations(page), []);
  await create.screenshot({ path: path.join(shots, 'reference-create-order.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await create.screenshot({ path: path.join(shots, 'reference-create-order-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await create.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'reference-phone.png') });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await page.close();
});
