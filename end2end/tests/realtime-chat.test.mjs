// The class chat in real browsers: two students (two browser profiles,
// so two guests) join one room, see each other arrive, and hear each
// other; one stops reading and gets what was kept for it; the chat is
// keyboard-usable, axe clean and readable in both themes and on a phone.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, seriousViolations, shots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();
let second = null;
after(async () => second?.close());

const lesson = '/lessons/realtime/a-class-chat';

async function joinRoom(context, baseUrl, room) {
  const page = await context.newPage();
  await page.goto(`${baseUrl}${lesson}`);
  const chat = page.locator('.realtime-chat[data-hydrated="true"]');
  await chat.waitFor({ timeout: 30_000 });
  await chat.getByLabel('Room code').fill(room);
  // By keyboard: Enter in the code field submits the form.
  await chat.getByLabel('Room code').press('Enter');
  await chat.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 15_000 });
  return { page, chat };
}

async function say(chat, text) {
  const box = chat.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
}

test('two students chat in one room and see who is there', async () => {
  const baseUrl = env.server.baseUrl;
  const ada = await joinRoom(env.browser.context, baseUrl, 'e2e-room');
  second = await openBrowser();
  const bob = await joinRoom(second.context, baseUrl, 'e2e-room');

  // Presence: each sees two members, and Ada saw Bob arrive.
  for (const { chat } of [ada, bob]) {
    await chat.getByRole('heading', { name: 'Here now (2)' }).waitFor({ timeout: 15_000 });
  }
  const bobName = (await bob.chat.getByRole('status').first().innerText()).match(/You are (guest-[0-9a-f]{8})/)[1];
  await ada.chat.locator('.chat-line-system', { hasText: `${bobName} joined.` }).waitFor({ timeout: 15_000 });

  await say(bob.chat, 'Hello from Bob');
  await ada.chat.locator('.chat-line', { hasText: 'Hello from Bob' }).waitFor({ timeout: 15_000 });
  await say(ada.chat, 'Hi Bob');
  await bob.chat.locator('.chat-line', { hasText: 'Hi Bob' }).waitFor({ timeout: 15_000 });

  // Ada stops reading; Bob talks on; Ada reads again and hears it all
  // (five messages fit in the default buffer of 16).
  await ada.chat.getByRole('button', { name: 'Stop reading' }).click();
  await ada.chat.getByRole('button', { name: 'Read again' }).waitFor();
  for (let n = 1; n <= 5; n += 1) {
    await say(bob.chat, `while away ${n}`);
    await bob.chat.locator('.chat-line', { hasText: `while away ${n}` }).waitFor({ timeout: 15_000 });
  }
  assert.equal(await ada.chat.locator('.chat-line', { hasText: 'while away' }).count(), 0);
  await ada.chat.getByRole('button', { name: 'Read again' }).click();
  await ada.chat.locator('.chat-line-system', { hasText: 'kept 5 messages' }).waitFor({ timeout: 15_000 });
  await ada.chat.locator('.chat-line', { hasText: 'while away 5' }).waitFor({ timeout: 15_000 });

  assert.deepEqual(await seriousViolations(ada.page), []);
  await ada.chat.screenshot({ path: path.join(shots, 'realtime-chat.png') });
  await ada.page.emulateMedia({ colorScheme: 'dark' });
  await ada.chat.screenshot({ path: path.join(shots, 'realtime-chat-dark.png') });
  await ada.page.setViewportSize({ width: 390, height: 844 });
  await ada.chat.screenshot({ path: path.join(shots, 'realtime-chat-phone.png') });

  // Bob leaves: Ada sees it.
  await bob.chat.getByRole('button', { name: 'Leave' }).click();
  await ada.chat.getByRole('heading', { name: 'Here now (1)' }).waitFor({ timeout: 15_000 });
  await ada.chat.locator('.chat-line-system', { hasText: `${bobName} left.` }).waitFor({ timeout: 15_000 });
  await ada.page.close();
  await bob.page.close();
});
