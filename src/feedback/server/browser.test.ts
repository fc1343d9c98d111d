// The whole labeling path in real Chromium (Debian's, driven by playwright-core) against a listening
// server: an admin creates a project and imports tasks on the admin page, two labelers judge with the
// keyboard, the admin reads agreement and downloads exports, and the TRL export trains a reward model
// with the built CLI. Also: untrusted text stays text, retries reuse the submissionId, phones work.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { readComparisons } from '../../data/read-comparisons.js';
import { SqliteFeedbackStore } from '../store/sqlite.js';
import { buildServer } from './app.js';
import { CHROMIUM, launchChromium } from '../../test-support/chromium.js';

// Without Chromium the tests skip, except in CI (RLHF_CI=1), where launching then fails the run.
const skip =
  existsSync(CHROMIUM) || process.env.RLHF_CI === '1' ? false : `${CHROMIUM} not found (apt-get install -y chromium)`;
const BIN = fileURLToPath(new URL('../../../bin/rlhf.js', import.meta.url));

const SCRIPT = '<script>window.__xss = 1</script>';
const IMG = '<img src=x onerror="window.__xss = 2">';

/** 8 pairs (the better one says "good"), one pair of hostile text, one task of 3 to rank. */
function taskFile(): string {
  const lines: object[] = [];
  for (let i = 0; i < 8; i++)
    lines.push({
      prompt: `Question ${i}: say something kind.`,
      completions: i % 2 ? [`bad reply ${i}`, `good reply ${i}`] : [`good reply ${i}`, `bad reply ${i}`],
    });
  lines.push({ prompt: 'Render <b>this</b> prompt', completions: [`good ${SCRIPT}`, `bad ${IMG}`] });
  lines.push({ prompt: 'Rank these three.', completions: ['bad one', 'good one', 'okay one'] });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

const rankOf = (text: string) => (text.startsWith('good') ? 0 : text.startsWith('okay') ? 1 : 2);

describe('the labeling app in Chromium', { skip }, () => {
  let dir: string;
  let store: SqliteFeedbackStore;
  let app: ReturnType<typeof buildServer>;
  let base: string;
  let adminToken: string;
  let context: BrowserContext & { dispose(): Promise<void> };
  /** Added to the store's clock: moving it on expires leases (ten minutes each). */
  let skewMs = 0;
  const problems: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rlhf-browser-'));
    store = new SqliteFeedbackStore(join(dir, 'feedback.db'), { now: () => new Date(Date.now() + skewMs) });
    ({ token: adminToken } = await store.createUser('root', 'admin'));
    app = buildServer({ store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    context = await launchChromium({ acceptDownloads: true });
    context.setDefaultTimeout(10_000);
  });

  after(async () => {
    await context?.dispose();
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new tab that records script errors and CSP violations (none may happen). */
  async function tab(): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    return page;
  }

  /** Waits until the labeling page shows a task other than `prev`, or says it is done. */
  async function nextShown(page: Page, prev: string | undefined): Promise<void> {
    await page.waitForFunction(
      (p) => {
        const t = document.getElementById('task')!,
          d = document.getElementById('done')!;
        return !d.hidden || (!t.hidden && t.dataset.taskId !== p);
      },
      prev,
      { polling: 20 },
    ); // NOTE: the default polls on animation frames, which background tabs throttle
  }

  /** Labels every task with the keyboard: the "good" completion wins; returns the tasks seen. */
  async function labelAll(page: Page, opts: { flagHostile?: boolean; feedbackOn?: number } = {}): Promise<number> {
    let seen = 0;
    await nextShown(page, undefined);
    for (;;) {
      if (await page.locator('#done').isVisible()) return seen;
      const id = await page.locator('#task').getAttribute('data-task-id');
      const texts = await page.locator('#completions .completion .text').allTextContents();
      seen++;
      if (texts.some((t) => t.includes(SCRIPT))) {
        // Hostile text is shown literally: no element was made from it and no script ran.
        assert.ok(texts.includes(`good ${SCRIPT}`) && texts.includes(`bad ${IMG}`), JSON.stringify(texts));
        assert.equal(await page.locator('#completions script, #completions img, #prompt b').count(), 0);
        assert.equal(await page.locator('#prompt').textContent(), 'Render <b>this</b> prompt');
        assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
        if (opts.flagHostile) {
          await page.keyboard.press('f');
          await nextShown(page, id ?? undefined);
          continue;
        }
      }
      if (texts.length === 2) {
        if (opts.feedbackOn === seen) {
          await page.focus('#feedback');
          await page.keyboard.type('the bad one is rude');
          await page.keyboard.press('Escape');
        }
        await page.keyboard.press(rankOf(texts[0]) === 0 ? '2' : '8');
      } else {
        // Ranking: press the keys of the completions best first (the last one ranks itself).
        const order = texts.map((t, pos) => ({ pos, r: rankOf(t) })).sort((a, b) => a.r - b.r);
        for (const { pos } of order.slice(0, -1)) await page.keyboard.press(String(pos + 1));
      }
      await page.keyboard.press('Enter');
      await nextShown(page, id ?? undefined);
    }
  }

  it('admin sets up a project, two labelers judge by keyboard, the export trains a reward model', async () => {
    const admin = await tab();
    await admin.goto(`${base}/admin#token=${adminToken}`);
    await admin.locator('#app').waitFor();
    assert.equal(new URL(admin.url()).hash, '', 'the token is stripped from the address bar');
    await admin.fill('#project-name-input', 'kindness');
    await admin.fill('#overlap-input', '2');
    await admin.fill('#axes-input', 'accuracy, coherence');
    await admin.click('#create-project button[type=submit]');
    await admin.locator('#project-title', { hasText: 'kindness' }).waitFor();

    // A bad file is refused line by line and imports nothing; the good one imports 10 tasks.
    await admin.setInputFiles('#import-file', {
      name: 'bad.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from('{"prompt":"p","completions":["a","b"]}\n{"prompt":"q","completions":["only"]}\n'),
    });
    await admin.click('#import button[type=submit]');
    await admin.locator('#import-result li', { hasText: 'line 2: field "completions"' }).waitFor();
    await admin.setInputFiles('#import-file', {
      name: 'tasks.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from(taskFile()),
    });
    await admin.click('#import button[type=submit]');
    await admin.locator('#import-result', { hasText: 'Imported 10 tasks' }).waitFor();

    const links: string[] = [];
    for (const name of ['ann', 'bob']) {
      await admin.fill('#labeler-name', name);
      await admin.click('#add-labeler button[type=submit]');
      await admin.locator('#new-link-name', { hasText: name }).waitFor();
      links.push(await admin.inputValue('#new-link-value'));
    }
    assert.match(links[0], new RegExp(`^${base}/#token=`));

    const [ann, bob] = [await tab(), await tab()];
    await Promise.all([ann.goto(links[0]), bob.goto(links[1])]);
    assert.equal(new URL(ann.url()).hash, '');
    assert.ok(await ann.evaluate(() => sessionStorage.getItem('rlhf-token')), 'the token is kept in sessionStorage');
    const [seenA, seenB] = await Promise.all([labelAll(ann, { feedbackOn: 1 }), labelAll(bob, { flagHostile: true })]);
    assert.deepEqual([seenA, seenB], [10, 10]);
    assert.match((await ann.locator('#progress').textContent())!, /10 judged · agreement with others 100% \(n 9\)/);

    await admin.click('#refresh-stats');
    await admin.locator('#project-agreement', { hasText: '20 judgments' }).waitFor();
    assert.match((await admin.locator('#project-agreement').textContent())!, /inter-labeler agreement 100% \(n 9\)/);
    assert.equal(await admin.locator('tr[data-user="ann"] td.agreement').textContent(), '100% (n 9)');
    assert.equal(await admin.locator('tr[data-user="bob"] td:nth-child(5)').textContent(), '1', 'bob flagged one');

    const save = async (button: string, name: string) => {
      const [dl] = await Promise.all([admin.waitForEvent('download'), admin.click(button)]);
      const file = join(dir, name);
      await dl.saveAs(file);
      return { file, suggested: dl.suggestedFilename() };
    };
    const trl = await save('#export-trl-margin', 'trl.jsonl');
    assert.equal(trl.suggested, 'kindness-trl.jsonl');
    const r = readComparisons(trl.file);
    assert.equal(r.format, 'trl');
    assert.deepEqual(r.issues, []);
    // 8 + 1 + 8 pairs and 1 hostile pair (bob flagged his) and two rankings of 3 (3 pairs each).
    assert.equal(r.comparisons.length, 8 * 2 + 1 + 2 * 3);
    for (const c of r.comparisons)
      assert.ok(
        c.completions[0].startsWith('good') ||
          (c.completions[0].startsWith('okay') && c.completions[1].startsWith('bad')),
        JSON.stringify(c),
      );
    assert.ok(r.comparisons.every((c) => c.margin === 0.75 || c.margin === undefined));
    const ours = readComparisons((await save('#export-comparisons', 'comparisons.jsonl')).file);
    assert.equal(ours.format, 'comparison');
    assert.equal(ours.comparisons.filter((c) => c.feedback === 'the bad one is rude' && c.labeler === 'ann').length, 1);

    // Disabling takes two clicks; bob's row then says so.
    const me = () =>
      bob.evaluate(
        async () =>
          (await fetch('/api/me', { headers: { authorization: `Bearer ${sessionStorage.getItem('rlhf-token')}` } }))
            .status,
      );
    await admin.click('tr[data-user="bob"] button:has-text("Disable")');
    await admin.click('tr[data-user="bob"] button:has-text("Really disable bob?")');
    await admin.locator('tr[data-user="bob"] td:nth-child(2)', { hasText: 'disabled' }).waitFor();
    assert.equal(await me(), 401);
    // Enabled again with one click: the same link works.
    await admin.click('tr[data-user="bob"] button:has-text("Enable")');
    await admin.locator('tr[data-user="bob"] td:nth-child(2)', { hasText: 'active' }).waitFor();
    assert.equal(await me(), 200);
    // A new link (two clicks) replaces the old one at once.
    await admin.click('tr[data-user="bob"] button:has-text("New link")');
    await admin.click('tr[data-user="bob"] button:has-text("Replace bob\'s link?")');
    await admin.locator('#labeler-result', { hasText: "bob's old link no longer works" }).waitFor();
    const link = await admin.inputValue('#new-link-value');
    assert.equal(await admin.textContent('#new-link-name'), 'bob');
    assert.equal(await me(), 401, 'the old link is dead');
    // Opened in bob's tab, which still shows the page: only the fragment changes, and the page reloads to take it.
    await Promise.all([bob.waitForEvent('load'), bob.goto(link)]);
    await bob.locator('#who', { hasText: 'bob' }).waitFor();
    assert.equal(await me(), 200, 'the new link signs bob in');

    const out = join(dir, 'rm');
    const run = spawnSync(
      process.execPath,
      [
        BIN,
        'train',
        'reward',
        '--train',
        trl.file,
        '--out',
        out,
        '--preset',
        'tiny',
        '--steps',
        '4',
        '--batch-size',
        '4',
        '--vocab-size',
        '260',
        '--eval-every',
        '0',
        '--quiet',
      ],
      { encoding: 'utf8', env: { ...process.env, RLHF_THREADS: '1' } },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.ok(existsSync(join(out, 'model.safetensors')));
    assert.equal(typeof JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).train.accuracy, 'number');
    assert.deepEqual(problems, []);
  });

  it('a submission retried after a lost response is stored once, with the same submissionId', async () => {
    const p = await store.createProject('retry');
    const { user, token } = await store.createUser('cy', 'labeler');
    await store.addMember(p.id, user.id);
    const [taskId] = await store.addTasks(p.id, [{ prompt: 'x', completions: ['one', 'two'] }]);
    const page = await tab();
    const bodies: { submissionId: string }[] = [];
    let first = true;
    await page.route('**/judgments', async (route) => {
      bodies.push(JSON.parse(route.request().postData()!));
      if (!first) return route.continue();
      first = false;
      await route.fetch(); // the server stores it…
      await route.abort('connectionreset'); // …but the answer is lost
    });
    await page.goto(`${base}/#token=${token}`);
    await nextShown(page, undefined);
    await page.keyboard.press('3');
    await page.keyboard.press('Enter');
    await page.locator('#done').waitFor();
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].submissionId, bodies[0].submissionId);
    const js = (await store.listJudgments(p.id)).filter((j) => j.taskId === taskId);
    assert.equal(js.length, 1);
    assert.equal(js[0].choice, 3);
  });

  it('a judgment the server cannot take any more is not dropped silently: the labeler is told and keeps their text', async () => {
    const p = await store.createProject('lost', { overlap: 1 });
    const gil = await store.createUser('gil', 'labeler');
    const { user: hal } = await store.createUser('hal', 'labeler');
    for (const u of [gil.user.id, hal.id]) await store.addMember(p.id, u);
    const [t1, t2] = await store.addTasks(p.id, [
      { prompt: 'first', completions: ['one', 'two'] },
      { prompt: 'second', completions: ['three', 'four'] },
    ]);
    const page = await tab();
    await page.goto(`${base}/#token=${gil.token}`);
    await nextShown(page, undefined);
    assert.equal(await page.locator('#task').getAttribute('data-task-id'), String(t1));
    await page.focus('#feedback');
    await page.keyboard.type('B ignores the question');
    await page.keyboard.press('Escape');
    await page.keyboard.press('3');
    // Gil's lease (10 minutes) runs out; hal is given the task and fills its only place.
    skewMs += 11 * 60_000;
    const h = await store.nextTask(p.id, hal.id);
    assert.equal(h!.taskId, t1);
    await store.submitJudgment({ taskId: t1, labelerId: hal.id, submissionId: 'h1', shown: h!.shown, choice: 7 });
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
      (await store.listJudgments(p.id)).map((j) => j.labelerId),
      [hal.id],
      "hal's judgment only",
    );
    await page.click('#lost-next');
    await nextShown(page, String(t1));
    assert.equal(await page.locator('#task').getAttribute('data-task-id'), String(t2));
    assert.equal(await page.locator('#lost').isVisible(), false);

    // The same task open in a second tab: judged there, the first tab hears about it.
    const other = await tab();
    await other.goto(`${base}/#token=${gil.token}`);
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
    assert.equal((await store.listJudgments(p.id)).filter((j) => j.taskId === t2).length, 1);
    await page.click('#lost-next');
    await page.locator('#done').waitFor();
  });

  it('on a phone the task is usable: completions stacked, every control on screen', async () => {
    const p = await store.createProject('phone', { axes: ['accuracy'] });
    const { user, token } = await store.createUser('dee', 'labeler');
    await store.addMember(p.id, user.id);
    await store.addTasks(p.id, [
      { prompt: 'A long prompt '.repeat(20), completions: ['first answer '.repeat(30), 'second answer '.repeat(30)] },
    ]);
    const page = await tab();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${base}/#token=${token}`);
    await nextShown(page, undefined);
    const [a, b] = await Promise.all([0, 1].map((i) => page.locator('.completion').nth(i).boundingBox()));
    assert.ok(a && b && a.y + a.height <= b.y && a.width > 300, `stacked full-width: ${JSON.stringify([a, b])}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'no sideways scrolling');
    for (const sel of [
      '.scale-button >> nth=0',
      '.scale-button >> nth=8',
      '.axis-button >> nth=6',
      '#submit',
      '#skip',
      '#flag',
    ]) {
      const box = await page.locator(sel).boundingBox();
      assert.ok(
        box && box.x >= 0 && box.x + box.width <= 375 && box.height >= 32,
        `${sel} on screen: ${JSON.stringify(box)}`,
      );
    }
    await page.locator('.scale-button').nth(6).click();
    await page.locator('#submit').click();
    await page.locator('#done').waitFor();
    assert.equal((await store.listJudgments(p.id))[0].choice, 7);
  });

  /** The box of `sel`, which must lie within the viewport as it is now (no scrolling). */
  async function inView(page: Page, sel: string, vw: number, vh: number) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(
      box && box.x >= 0 && box.y >= 0 && box.x + box.width <= vw && box.y + box.height <= vh,
      `${sel} within the ${vw}×${vh} screen: ${JSON.stringify(box)}`,
    );
  }

  it('on a 390×844 phone: "Not saved" and Submit stay in view; a 1 MB completion scrolls in its own box', async () => {
    const p = await store.createProject('phone-2');
    const { user, token } = await store.createUser('ivy', 'labeler');
    await store.addMember(p.id, user.id);
    const huge = 'a very long completion. '.repeat(44_000); // ~1 MB
    await store.addTasks(p.id, [{ prompt: 'Summarize this post. '.repeat(60), completions: [huge, 'a short one'] }]);
    const page = await tab();
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
    await page.goto(`${base}/#token=${token}`);
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
    assert.equal((await store.listJudgments(p.id)).length, 1);
  });

  it("the admin's statistics on a phone: Disable and New link without sideways scrolling; old bidi names neutralized", async () => {
    const p = await store.createProject('cards', { overlap: 2 });
    for (const n of ['kim', 'a-labeler-with-a-rather-long-name']) {
      const { user } = await store.createUser(n, 'labeler');
      await store.addMember(p.id, user.id);
    }
    // A name stored before names refused bidirectional controls: it must not show as "xlab live".
    const id = Number(
      store.db
        .prepare("INSERT INTO users (name, role, token_sha256, created_at) VALUES (?, 'labeler', ?, ?)")
        .run('xlab \u202Eevil\u202C', 'f'.repeat(64), new Date().toISOString()).lastInsertRowid,
    );
    await store.addMember(p.id, id);
    const page = await tab();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/admin#token=${adminToken}`);
    await page.locator('#project-list button', { hasText: 'cards' }).click();
    await page.locator('tr[data-user="kim"]').waitFor();
    for (const row of await page.locator('#stats-body tr').all()) {
      for (const b of [row.locator('button', { hasText: 'Disable' }), row.locator('button', { hasText: 'New link' })]) {
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
  });
});
