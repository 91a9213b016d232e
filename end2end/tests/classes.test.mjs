// A class in real browsers: an instructor creates one and sets a deadline;
// a student opens the join link, works as a guest, signs up, and appears in
// that class's gradebook with their work; the deadline shows on their
// progress page. Two browser profiles: the instructor's and the student's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();
let student = null;
after(async () => student?.close());

async function signUp(page, baseUrl, name, email) {
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long teaching passphrase');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('header.site-header').getByRole('link', { name }).waitFor();
}

test('an instructor runs a class that a student joins by link', async () => {
  const { baseUrl } = env.server;
  const teacher = await env.browser.context.newPage();
  await signUp(teacher, baseUrl, 'Tess Teacher', 'tess@example.com');
  env.server.workbench('user', 'add', 'tess@example.com', '--role', 'instructor');
  await env.server.changesSeen();

  // Create the class.
  await teacher.goto(`${baseUrl}/instructor/classes`);
  assert.deepEqual(await seriousViolations(teacher), [], 'classes page');
  await teacher.getByLabel('Name').fill('Backend 101');
  await teacher.getByLabel('Places').fill('40');
  await teacher.getByRole('button', { name: 'Create class' }).click();
  await teacher.getByRole('heading', { name: 'Backend 101' }).waitFor();
  await teacher.getByText('Class created.').waitFor();
  const joinLink = await teacher.getByLabel('Link', { exact: true }).inputValue();
  assert.equal(joinLink.slice(0, baseUrl.length), baseUrl, 'a whole link, ready to send');
  const code = joinLink.match(/\/join\/([A-Z2-9]{8})$/)[1];

  // A deadline for the HTTP module, a week away.
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 11) + '23:59';
  await teacher.getByLabel('HTTP', { exact: false }).first().fill(due);
  await teacher.getByRole('button', { name: 'Save deadlines' }).click();
  await teacher.getByText(/Deadlines saved/).waitFor();
  assert.equal(await teacher.getByLabel('HTTP', { exact: false }).first().inputValue(), due);
  assert.deepEqual(await seriousViolations(teacher), [], 'class page');
  await teacher.screenshot({ path: path.join(shots, 'class.png'), fullPage: true });

  // The student joins from another browser, as a guest.
  student = await openBrowser();
  const page = await student.context.newPage();
  // From the course page, typing the code as read aloud (lower case, a space).
  await page.goto(baseUrl);
  await page.getByRole('link', { name: 'Join a class' }).click();
  await page.getByLabel('Class code').fill(`${code.slice(0, 4).toLowerCase()} ${code.slice(4)}`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Backend 101' }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/join/${code}`);
  assert.deepEqual(await seriousViolations(page), [], 'join page');
  await page.screenshot({ path: path.join(shots, 'join.png') });
  await page.getByLabel('Your name').fill('Sam Student');
  await page.getByRole('button', { name: 'Join as a guest' }).click();
  await page.getByText('You joined Backend 101.', { exact: false }).waitFor();
  const dueText = due.replace('T', ' ');
  await page.getByText(`Due ${dueText}`, { exact: false }).first().waitFor();

  // Work as a guest: a quiz in the HTTP module.
  await page.goto(`${baseUrl}/lessons/http/status-codes-and-verbs`);
  const card = page.locator('.exercise-card', { has: page.getByRole('heading', { name: 'A resource was created' }) });
  await card.and(page.locator('[data-hydrated="true"]')).waitFor({ timeout: 30_000 });
  await card.getByLabel('201 Created').check();
  await card.getByRole('button', { name: 'Check' }).click();
  await card.getByText('All checks passed: 1 of 1 points').waitFor();

  // Sign up: the work and the class come along.
  await signUp(page, baseUrl, 'Sam Student', 'sam@example.com');
  await page.goto(`${baseUrl}/progress`);
  await page.getByText('Your classes: Backend 101').waitFor();
  await page.getByText(`Due ${dueText}`, { exact: false }).first().waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'progress page with a deadline');
  await page.screenshot({ path: path.join(shots, 'progress-deadline.png'), fullPage: true });

  // The instructor sees Sam, with the point, in the class's gradebook.
  await teacher.goto(`${baseUrl}/instructor/classes`);
  await teacher.getByRole('link', { name: 'Backend 101' }).click();
  await teacher.getByRole('row', { name: /Sam Student/ }).waitFor();
  await teacher.getByRole('link', { name: 'Gradebook' }).last().click();
  const row = teacher.getByRole('row', { name: /Sam Student/ });
  await row.waitFor();
  assert.match(await row.innerText(), /sam@example\.com/);
  assert.match(await row.innerText(), /\b1 \(1\)/, 'one point in one attempt');
  await teacher.getByRole('img', { name: /Backend 101: exercises passed/ }).waitFor();
  assert.deepEqual(await seriousViolations(teacher), [], 'gradebook');
  await teacher.screenshot({ path: path.join(shots, 'gradebook-class.png'), fullPage: true });

  // At phone width, wide tables scroll inside their region, not the page.
  await teacher.setViewportSize({ width: 390, height: 844 });
  const overflow = await teacher.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the gradebook scrolls sideways by ${overflow}px`);
  await teacher.screenshot({ path: path.join(shots, 'gradebook-phone.png'), fullPage: true });
  await teacher.close();
  await page.close();
});
