// Thumbs and Likert tasks in real Chromium: a labeler answers each kind with the keyboard (U/D, C to
// write, Enter; keys 1–7) and with the mouse through the buttons' accessible names; the admin imports
// single-output tasks with a kind, reads their agreement by kind, and downloads the KTO export.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type BrowserApp, nextShown, skipBrowser, startBrowserApp } from './browser-harness.js';

/** A project with one labeler and these tasks; the labeler's page, showing the first task. */
async function labeling(web: BrowserApp, name: string, tasks: object[]): Promise<{ page: Page; project: number }> {
  const p = await web.store.createProject(name, { overlap: 1 });
  const { user, token } = await web.store.createUser(`${name}-labeler`, 'labeler');
  await web.store.addMember(p.id, user.id);
  await web.store.addTasks(p.id, tasks as never);
  const page = await web.tab();
  await page.goto(`${web.base}/#token=${token}`);
  await nextShown(page, undefined);
  return { page, project: p.id };
}

/** Presses `key`, then waits for the next task (or "All done"). */
async function pressAndNext(page: Page, key: string): Promise<void> {
  const id = (await page.locator('#task').getAttribute('data-task-id')) ?? undefined;
  await page.keyboard.press(key);
  await nextShown(page, id);
}

const pressed = (page: Page, sel: string) => page.locator(`${sel} [aria-pressed="true"]`).allTextContents();

describe('thumbs and Likert tasks in Chromium', { skip: skipBrowser }, () => {
  let web: BrowserApp;
  before(async () => {
    web = await startBrowserApp();
  });
  after(async () => {
    await web?.close();
  });

  it('thumbs: U and D choose, C writes a comment, Enter (Ctrl+Enter in the box) submits; the mouse too', async () => {
    const tasks = ['first', 'second', 'third'].map((x) => ({ kind: 'thumbs', prompt: `${x}?`, completion: `${x}!` }));
    const { page, project } = await labeling(web, 'thumbs-keys', tasks);
    assert.equal(await page.locator('#thumbs-controls').isVisible(), true);
    assert.equal(await page.locator('#pair-controls').isVisible(), false);
    assert.deepEqual(await page.locator('#completions .completion .text').allTextContents(), ['first!']);
    assert.match((await page.textContent('#keys'))!, /U thumbs up · D thumbs down · Enter submit/);
    await page.keyboard.press('Enter');
    assert.match((await page.textContent('#status'))!, /Choose thumbs up \(U\) or down \(D\) first/);
    await page.keyboard.press('u');
    assert.deepEqual(await pressed(page, '#thumbs'), ['👍 Thumbs up U']);
    await page.keyboard.press('c');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'feedback');
    await page.keyboard.type('polite but wrong');
    await page.keyboard.press('Escape');
    await page.keyboard.press('d'); // changed their mind
    assert.deepEqual(await pressed(page, '#thumbs'), ['👎 Thumbs down D']);
    await pressAndNext(page, 'Enter');

    await page.keyboard.press('u');
    await page.keyboard.press('c');
    await page.keyboard.type('exactly right');
    await pressAndNext(page, 'Control+Enter');

    // The mouse, by the buttons' accessible names.
    await page
      .getByRole('group', { name: 'Is this a good response?' })
      .getByRole('button', { name: /Thumbs up/ })
      .click();
    await page.getByRole('button', { name: /Submit/ }).click();
    await page.locator('#done').waitFor();
    assert.deepEqual(
      (await web.store.listJudgments(project)).map((j) => [j.thumb, j.feedback, j.shown]),
      [
        ['down', 'polite but wrong', [0]],
        ['up', 'exactly right', [0]],
        ['up', undefined, [0]],
      ],
    );
  });

  it('Likert: keys 1–7 rate (8 and 9 do nothing), Enter submits, S skips; the mouse rates too', async () => {
    const tasks = ['a', 'b', 'c', 'd'].map((x) => ({ kind: 'likert', prompt: `rate ${x}`, completion: `text ${x}` }));
    const { page, project } = await labeling(web, 'likert-keys', tasks);
    const scale = page.getByRole('group', { name: 'How good is this response?' });
    assert.equal(await scale.getByRole('button').count(), 7);
    assert.equal(await page.locator('#thumbs-controls').isVisible(), false);
    assert.match((await page.textContent('#keys'))!, /1–7 rate/);
    await page.keyboard.press('8');
    await page.keyboard.press('9');
    assert.deepEqual(await pressed(page, '#likert'), [], 'no rating from 8 or 9');
    await page.keyboard.press('6');
    assert.deepEqual(await pressed(page, '#likert'), ['6Good']);
    assert.match((await page.textContent('#status'))!, /6 · Good: Enter submits/);
    await pressAndNext(page, 'Enter');
    await page.keyboard.press('2');
    await page.keyboard.press('4');
    await pressAndNext(page, 'Enter');
    await pressAndNext(page, 's');
    await scale.getByRole('button', { name: /Very bad/ }).click();
    await page.keyboard.press('Enter');
    await page.locator('#done').waitFor();
    assert.deepEqual(
      (await web.store.listJudgments(project)).map((j) => [j.status, j.rating]),
      [
        ['done', 6],
        ['done', 4],
        ['skipped', undefined],
        ['done', 1],
      ],
    );
  });

  it('the admin imports thumbs tasks by kind, reads agreement by kind, and downloads the KTO export', async () => {
    const p = await web.store.createProject('kinds', { overlap: 2 });
    const labelers = [];
    for (const n of ['kim', 'lee']) {
      const { user } = await web.store.createUser(n, 'labeler');
      await web.store.addMember(p.id, user.id);
      labelers.push(user.id);
    }
    const admin = await web.tab();
    await admin.goto(`${web.base}/admin#token=${web.adminToken}`);
    await admin.locator('#project-list button', { hasText: 'kinds' }).click();
    await admin.setInputFiles('#import-file', {
      name: 'samples.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from(
        ['kind reply', 'rude reply', 'kind reply']
          .map((c, i) => JSON.stringify({ prompt: 'hi', completion: c, sample: i }))
          .join('\n'),
      ),
    });
    await admin.selectOption('#import-kind', 'thumbs');
    await admin.click('#import button[type=submit]');
    await admin.locator('#import-result', { hasText: 'Imported 2 tasks (2 thumbs)' }).waitFor();
    assert.match((await admin.textContent('#import-result'))!, /1 duplicate completion/);
    // Both labelers judge through the store: they agree on the kind reply, not on the rude one.
    for (const [i, l] of labelers.entries()) {
      for (let a = await web.store.nextTask(p.id, l); a; a = await web.store.nextTask(p.id, l)) {
        const thumb = a.completions[0] === 'kind reply' || i === 0 ? 'up' : 'down';
        await web.store.submitJudgment({
          taskId: a.taskId,
          labelerId: l,
          submissionId: `${l}-${a.taskId}`,
          shown: a.shown,
          thumb,
        });
      }
    }
    await admin.click('#refresh-stats');
    await admin.locator('#kind-stats li', { hasText: 'thumbs: 2 tasks (0 gold), 4 judgments, 75% up' }).waitFor();
    assert.match((await admin.textContent('#kind-stats'))!, /agreement 50% \(n 2\), Fleiss κ -0\.33/);
    const [dl] = await Promise.all([admin.waitForEvent('download'), admin.click('#export-kto')]);
    assert.equal(dl.suggestedFilename(), 'kinds-kto.jsonl');
    const file = join(web.dir, 'kto.jsonl');
    await dl.saveAs(file);
    assert.equal(
      readFileSync(file, 'utf8'),
      `${JSON.stringify({ prompt: 'hi', completion: 'kind reply', label: true })}\n`,
    );
    assert.match((await admin.textContent('#export-result'))!, /Downloaded kinds-kto\.jsonl/);
  });

  it('no tab had a script error or a Content-Security-Policy violation', () => {
    assert.deepEqual(web.problems, []);
  });
});
