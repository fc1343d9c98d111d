// The whole labeling path in real Chromium (Debian's, driven by playwright-core) against a listening
// server: an admin creates a project and imports tasks on the admin page, two labelers judge with the
// keyboard, the admin reads agreement and downloads exports, and the TRL export trains a reward model
// with the built CLI. Also: untrusted text stays text, retries reuse the submissionId, phones work.
// What else a labeler and an admin meet is in browser-labeler.test.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { readComparisons } from '../../data/read-comparisons.js';
import { type BrowserApp, nextShown, skipBrowser, startBrowserApp } from './browser-harness.js';

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

describe('the labeling app in Chromium', { skip: skipBrowser }, () => {
  let web: BrowserApp;
  before(async () => {
    web = await startBrowserApp();
  });
  after(async () => {
    await web?.close();
  });

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
    const admin = await web.tab();
    await admin.goto(`${web.base}/admin#token=${web.adminToken}`);
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
    assert.match(links[0], new RegExp(`^${web.base}/#token=`));

    const [ann, bob] = [await web.tab(), await web.tab()];
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
      const file = join(web.dir, name);
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

    const out = join(web.dir, 'rm');
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
    assert.deepEqual(web.problems, []);
  });

  it('a submission retried after a lost response is stored once, with the same submissionId', async () => {
    const p = await web.store.createProject('retry');
    const { user, token } = await web.store.createUser('cy', 'labeler');
    await web.store.addMember(p.id, user.id);
    const [taskId] = await web.store.addTasks(p.id, [{ prompt: 'x', completions: ['one', 'two'] }]);
    const page = await web.tab();
    const bodies: { submissionId: string }[] = [];
    let first = true;
    await page.route('**/judgments', async (route) => {
      bodies.push(JSON.parse(route.request().postData()!));
      if (!first) return route.continue();
      first = false;
      await route.fetch(); // the server stores it…
      await route.abort('connectionreset'); // …but the answer is lost
    });
    await page.goto(`${web.base}/#token=${token}`);
    await nextShown(page, undefined);
    await page.keyboard.press('3');
    await page.keyboard.press('Enter');
    await page.locator('#done').waitFor();
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].submissionId, bodies[0].submissionId);
    const js = (await web.store.listJudgments(p.id)).filter((j) => j.taskId === taskId);
    assert.equal(js.length, 1);
    assert.equal(js[0].choice, 3);
  });

  it('on a phone the task is usable: completions stacked, every control on screen', async () => {
    const p = await web.store.createProject('phone', { axes: ['accuracy'] });
    const { user, token } = await web.store.createUser('dee', 'labeler');
    await web.store.addMember(p.id, user.id);
    await web.store.addTasks(p.id, [
      { prompt: 'A long prompt '.repeat(20), completions: ['first answer '.repeat(30), 'second answer '.repeat(30)] },
    ]);
    const page = await web.tab();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${web.base}/#token=${token}`);
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
    assert.equal((await web.store.listJudgments(p.id))[0].choice, 7);
  });
});
