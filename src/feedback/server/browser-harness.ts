// The labeling app in real Chromium for the browser tests (browser.test.ts, browser-labeler.test.ts):
// a SQLite store whose clock can be moved on (to expire leases), a listening server, a Chromium
// (Debian's, driven by playwright-core), and tabs that record script errors and CSP violations. Test
// support only.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { SqliteFeedbackStore } from '../store/sqlite.js';
import { buildServer } from './app.js';
import { CHROMIUM, launchChromium } from '../../test-support/chromium.js';

/** Why the browser tests skip: Chromium is missing (never in CI, RLHF_CI=1, where launching then fails the run). */
export const skipBrowser =
  existsSync(CHROMIUM) || process.env.RLHF_CI === '1' ? false : `${CHROMIUM} not found (apt-get install -y chromium)`;

export interface BrowserApp {
  dir: string;
  store: SqliteFeedbackStore;
  base: string;
  adminToken: string;
  context: BrowserContext;
  /** Script errors and CSP violations seen in any tab (none may happen). */
  problems: string[];
  /** Moves the store's clock on by `ms` (leases last ten minutes). */
  skew(ms: number): void;
  /** A new tab that records problems. */
  tab(): Promise<Page>;
  close(): Promise<void>;
}

export async function startBrowserApp(): Promise<BrowserApp> {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-browser-'));
  let skewMs = 0;
  const store = new SqliteFeedbackStore(join(dir, 'feedback.db'), { now: () => new Date(Date.now() + skewMs) });
  const { token: adminToken } = await store.createUser('root', 'admin');
  const app = buildServer({ store });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const context = await launchChromium({ acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  const problems: string[] = [];
  return {
    dir,
    store,
    base,
    adminToken,
    context,
    problems,
    skew: (ms) => {
      skewMs += ms;
    },
    async tab() {
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      return page;
    },
    async close() {
      await context.dispose();
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the labeling page shows a task other than `prev`, or says it is done. */
export async function nextShown(page: Page, prev: string | undefined): Promise<void> {
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

/** The box of `sel`, which must lie within the viewport as it is now (no scrolling). */
export async function inView(page: Page, sel: string, vw: number, vh: number): Promise<void> {
  const box = await page.locator(sel).boundingBox();
  assert.ok(
    box && box.x >= 0 && box.y >= 0 && box.x + box.width <= vw && box.y + box.height <= vh,
    `${sel} within the ${vw}×${vh} screen: ${JSON.stringify(box)}`,
  );
}
