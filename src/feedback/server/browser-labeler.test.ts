// What a labeler and an admin meet, in real Chromium: a judgment the server can no longer take is
// told, not dropped; on a 390×844 phone the submit buttons and their status stay on screen, a 1 MB
// completion scrolls in its own box, and the admin's statistics need no sideways scrolling.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BrowserApp, inView, nextShown, skipBrowser, startBrowserApp } from './browser-harness.js';

describe('the labeling pages in Chromium, as a labeler and an admin meet them', { skip: skipBrowser }, () => {
  let web: BrowserApp;
  before(async () => {
    web = await startBrowserApp();
  });
  after(async () => {
    await web?.close();
  });

  it(
    'a judgment the server cannot take any more is not dropped silently: the labeler is told and keeps their ' + 'text',
    async () => {
      const p = await web.store.createProject('lost', { overlap: 1 });
      const gil = await web.store.createUser('gil', 'labeler');
      const { user: hal } = await web.store.createUser('hal', 'labeler');
      for (const u of [gil.user.id, hal.id]) await web.store.addMember(p.id, u);
      const [t1, t2] = await web.store.addTasks(p.id, [
        { prompt: 'first', completions: ['one', 'two'] },
        { prompt: 'second', completions: ['three', 'four'] },
      ]);
      const page = await web.tab();
      await page.goto(`${web.base}/#token=${gil.token}`);
      await nextShown(page, undefined);
      assert.equal(await page.locator('#task').getAttribute('data-task-id'), String(t1));
      await page.focus('#feedback');
      await page.keyboard.type('B ignores the question');
      await page.keyboard.press('Escape');
      await page.keyboard.press('3');
      // Gil's lease (10 minutes) runs out; hal is given the task and fills its only place.
      web.skew(11 * 60_000);
      const h = await web.store.nextTask(p.id, hal.id);
      assert.equal(h!.taskId, t1);
      await web.store.submitJudgment({ taskId: t1, labelerId: hal.id, submissionId: 'h1', shown: h!.shown, choice: 7 });
      await page.keyboard.press('Enter');
      await page.locator('#lost').waitFor();
      assert.match(
        (await page.textContent('#lost-message'))!,
        /other labelers completed it meanwhile.*“A slightly better”/,
      );
      assert.equal(await page.inputValue('#lost-text'), 'B ignores the question', 'what gil wrote is kept, to copy');
      assert.equal(await page.locator('#submit').isVisible(), false);
      await page.keyboard.press('Enter'); // does not move on by itself
      assert.equal(await page.locator('#task').getAttribute('data-task-id'), String(t1));
      assert.deepEqual(
        (await web.store.listJudgments(p.id)).map((j) => j.labelerId),
        [hal.id],
        "hal's judgment only",
      );
      await page.click('#lost-next');
      await nextShown(page, String(t1));
      assert.equal(await page.locator('#task').getAttribute('data-task-id'), String(t2));
      assert.equal(await page.locator('#lost').isVisible(), false);

      // The same task open in a second tab: judged there, the first tab hears about it.
      const other = await web.tab();
      await other.goto(`${web.base}/#token=${gil.token}`);
      await nextShown(other, undefined);
      assert.equal(await other.locator('#task').getAttribute('data-task-id'), String(t2));
      await other.keyboard.press('7');
      await other.keyboard.press('Enter');
      await other.locator('#done').waitFor();
      await page.keyboard.press('2');
      await page.keyboard.press('Enter');
      await page.locator('#lost').waitFor();
      assert.match((await page.textContent('#lost-message'))!, /already judged this task, in another tab/);
      assert.equal(await page.locator('#lost-text-box').isVisible(), false, 'nothing written, nothing to copy');
      assert.equal((await web.store.listJudgments(p.id)).filter((j) => j.taskId === t2).length, 1);
      await page.click('#lost-next');
      await page.locator('#done').waitFor();
    },
  );

  it('on a 390×844 phone: "Not saved" and Submit stay in view; a 1 MB completion scrolls in its own box', async () => {
    const p = await web.store.createProject('phone-2');
    const { user, token } = await web.store.createUser('ivy', 'labeler');
    await web.store.addMember(p.id, user.id);
    const huge = 'a very long completion. '.repeat(44_000); // ~1 MB
    await web.store.addTasks(p.id, [
      { prompt: 'Summarize this post. '.repeat(60), completions: [huge, 'a short one'] },
    ]);
    const page = await web.tab();
    await page.setViewportSize({ width: 390, height: 844 });
    let fail = true;
    await page.route('**/judgments', (route) =>
      fail
        ? route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'internal', message: 'internal error' } }),
          })
        : route.continue(),
    );
    await page.goto(`${web.base}/#token=${token}`);
    await nextShown(page, undefined);
    const sizes = await page.evaluate(() => {
      const boxes = [...document.querySelectorAll<HTMLElement>('.completion .text')];
      return {
        page: document.documentElement.scrollHeight,
        boxes: boxes.map((b) => ({ client: b.clientHeight, scroll: b.scrollHeight })),
      };
    });
    assert.ok(sizes.page < 4 * 844, `the page is ${sizes.page} px tall`);
    const big = sizes.boxes.find((b) => b.scroll > 100_000)!;
    assert.ok(
      big && big.client <= 0.6 * 844,
      `the 1 MB completion scrolls in its own box: ${JSON.stringify(sizes.boxes)}`,
    );
    // Reading from the top, the labeler chooses and submits by key; the save fails.
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    await page.keyboard.press('3');
    await page.keyboard.press('Enter');
    await page.locator('#status', { hasText: 'Not saved' }).waitFor();
    assert.equal(await page.evaluate(() => window.scrollY), 0, 'nothing scrolled');
    await inView(page, '#status', 390, 844);
    await inView(page, '#submit', 390, 844);
    fail = false;
    await page.keyboard.press('Enter');
    await page.locator('#done').waitFor();
    assert.equal((await web.store.listJudgments(p.id)).length, 1);
  });

  it(
    "the admin's statistics on a phone: Disable and New link without sideways scrolling; old bidi names " +
      'neutralized',
    async () => {
      const p = await web.store.createProject('cards', { overlap: 2 });
      for (const n of ['kim', 'a-labeler-with-a-rather-long-name']) {
        const { user } = await web.store.createUser(n, 'labeler');
        await web.store.addMember(p.id, user.id);
      }
      // A name stored before names refused bidirectional controls: it must not show as "xlab live".
      const id = Number(
        web.store.db
          .prepare("INSERT INTO users (name, role, token_sha256, created_at) VALUES (?, 'labeler', ?, ?)")
          .run('xlab \u202Eevil\u202C', 'f'.repeat(64), new Date().toISOString()).lastInsertRowid,
      );
      await web.store.addMember(p.id, id);
      const page = await web.tab();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${web.base}/admin#token=${web.adminToken}`);
      await page.locator('#project-list button', { hasText: 'cards' }).click();
      await page.locator('tr[data-user="kim"]').waitFor();
      for (const row of await page.locator('#stats-body tr').all()) {
        for (const b of [
          row.locator('button', { hasText: 'Disable' }),
          row.locator('button', { hasText: 'New link' }),
        ]) {
          const box = await b.boundingBox();
          assert.ok(
            box && box.x >= 0 && box.x + box.width <= 390,
            `${await b.textContent()} on screen: ${JSON.stringify(box)}`,
          );
        }
      }
      const widths = await page.evaluate(() => {
        const wrap = document.querySelector<HTMLElement>('.table-wrap')!;
        return { page: document.documentElement.scrollWidth, wrap: wrap.scrollWidth, wrapClient: wrap.clientWidth };
      });
      assert.ok(
        widths.page <= 390 && widths.wrap <= widths.wrapClient,
        `no sideways scrolling: ${JSON.stringify(widths)}`,
      );
      const names = await page.locator('#stats-body td[data-label="Labeler"]').allTextContents();
      assert.ok(names.includes('xlab \ufffdevil\ufffd'), JSON.stringify(names));
      await page.locator('tr[data-user="kim"] button', { hasText: 'Disable' }).click();
      await page.locator('tr[data-user="kim"] button', { hasText: 'Really disable kim?' }).click();
      await page.locator('tr[data-user="kim"] td[data-label="Status"]', { hasText: 'disabled' }).waitFor();
    },
  );

  it('no tab had a script error or a Content-Security-Policy violation', () => {
    assert.deepEqual(web.problems, []);
  });
});
