/**
 * Test helper: Debian's chromium driven by playwright-core (which downloads no browser). The browser runs
 * headless with a fresh profile, and with every background service that would reach the network switched off,
 * so the only requests it makes are the page's own.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Where chromium is, or undefined: CHROMIUM_PATH, then Debian's /usr/bin/chromium. */
export function findChromium(): string | undefined {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p;
  return undefined;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches chromium with a fresh profile (playwright passes it as --user-data-dir); close() removes it.
 * `colorScheme` picks the page's light or dark rendering.
 */
export async function launchChromium(executablePath: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'shardctl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 60_000,
    viewport: { width: 1280, height: 900 },
    colorScheme,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
