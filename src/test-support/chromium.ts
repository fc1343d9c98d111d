// Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (never a
// downloaded browser). Tests skip when it is missing, except in CI (RLHF_CI=1), where they fail.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.RLHF_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. Throws in CI, where they must run. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;
  if (process.env.RLHF_CI === '1') throw new Error(why);
  return why;
}

// NOTE: without the background-networking flags Chromium keeps dialing out, and this machine's closed
// network refuses it many times a second; --user-data-dir is given by launchPersistentContext.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile; dispose() closes it and removes the profile. */
export async function launchChromium(
  opts: { viewport?: { width: number; height: number }; acceptDownloads?: boolean } = {},
): Promise<BrowserContext & { dispose(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'rlhf-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    acceptDownloads: opts.acceptDownloads,
  });
  return Object.assign(ctx, {
    async dispose() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  });
}
