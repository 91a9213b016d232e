// The labs' OpenAPI document is a contract the live server keeps:
// schemathesis (from PyPI, in tools/venv) sends generated requests to every
// documented lab route and fails on any server error or any answer the
// document does not allow. Then the reference page shows the same routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, startServer } from './harness.mjs';

const schemathesis = path.join(repoRoot, 'tools/venv/bin/schemathesis');

// Operations that do on purpose what the checks call faults: changing
// settings can switch on the API lab's "lose the response" fault (a 502 by
// design) or several seconds of injected latency, and the HTTP lab's
// status route answers any status a student asks for, 5xx included. Their
// behaviour has tests of its own (settings validation, http_lab).
const DELIBERATE = ['put_settings$', '^http_status$'];

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('the document is OpenAPI 3.1 and covers every lab with its settings', async () => {
  const document = await (await fetch(`${server.baseUrl}/api/openapi.json`)).json();
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

test('schemathesis finds no server error and no answer outside the document', (t) => {
  if (!existsSync(schemathesis)) {
    t.skip('schemathesis is not installed: run scripts/setup.sh');
    return;
  }
  const reports = mkdtempSync(path.join(tmpdir(), 'workbench-contract-'));
  const run = spawnSync(
    schemathesis,
    [
      'run',
      `${server.baseUrl}/api/openapi.json`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance',
      ...DELIBERATE.flatMap((id) => ['--exclude-operation-id-regex', id]),
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', '30',
      '--seed', '17',
      '--workers', '2',
      '--request-timeout', '20',
      '--report', 'junit',
      '--report-dir', reports,
    ],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' }, timeout: 15 * 60_000 },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  const summary = output.split('\n').filter((line) => /passed|failed|errored|operations|Test cases/i.test(line));
  console.log(summary.slice(-12).join('\n'));
  assert.equal(run.status, 0, `schemathesis failed:\n${output.slice(-20_000)}`);
  assert.ok(readFileSync(path.join(reports, 'junit.xml'), 'utf8').includes('testcase'));
});

test('the reference page lists every documented route', async () => {
  const document = await (await fetch(`${server.baseUrl}/api/openapi.json`)).json();
  const html = await (await fetch(`${server.baseUrl}/reference`)).text();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      assert.ok(html.includes(`id="${operation.operationId}"`), `${operation.operationId} on the page`);
    }
  }
});
