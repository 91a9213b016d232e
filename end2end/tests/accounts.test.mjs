// Accounts in a real browser: sign up, see your name in the header, sign out,
// and sign in again through the plain forms. Its own server and browser
// profile, so the other tests keep browsing anonymously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();
const header = (page) => page.locator('header.site-header');

test('the sign-in page fits a phone and works from the keyboard', async () => {
  const page = await env.browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${env.server.baseUrl}/signin`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
  await page.getByLabel('Email').focus();
  await page.keyboard.type('nobody@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('not a real password');
  await page.keyboard.press('Enter');
  await assert.doesNotReject(page.getByRole('alert').waitFor());
  await page.screenshot({ path: path.join(shots, 'signin-phone.png') });
  await page.close();
});

test('a student signs up, sees their name in the header, signs out and signs back in', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.server.baseUrl}/signup`);
  assert.deepEqual(await seriousViolations(page), [], 'sign-up page');
  await page.screenshot({ path: path.join(shots, 'signup.png') });

  await page.getByLabel('Name').fill('Ada Lovelace');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await assert.doesNotReject(header(page).getByRole('link', { name: 'Ada Lovelace' }).waitFor());

  await header(page).getByRole('link', { name: 'Ada Lovelace' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Your account' }).waitFor());
  assert.deepEqual(await seriousViolations(page), [], 'account page');
  await page.screenshot({ path: path.join(shots, 'account.png'), fullPage: true });

  await header(page).getByRole('button', { name: 'Sign out' }).click();
  await assert.doesNotReject(header(page).getByRole('link', { name: 'Sign in' }).waitFor());
  assert.equal(await header(page).getByText('Ada Lovelace').count(), 0);

  await header(page).getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('a wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByRole('alert').waitFor());
  assert.equal(await page.getByLabel('Email').inputValue(), 'ada@example.com', 'the email is kept');
  assert.deepEqual(await seriousViolations(page), [], 'sign-in page with an error');
  await page.screenshot({ path: path.join(shots, 'signin-error.png') });

  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(header(page).getByRole('link', { name: 'Ada Lovelace' }).waitFor());
  await page.close();
});
