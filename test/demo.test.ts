// The demo page (demo/), built by Vite as it is published, in headless Chromium:
// demo/check.mjs waits for the worker's answers, checks the seed article's numbers in
// the DOM, moves sliders and checks the numbers change, runs the in-page benchmark, and
// takes a (non-blank) screenshot.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CHROMIUM } from './browser/server.js';

const root = new URL('..', import.meta.url).pathname;

it.skipIf(!existsSync(CHROMIUM))('the demo builds, renders the article, reacts to its sliders, and benchmarks in the page', () => {
  const out = mkdtempSync(join(tmpdir(), 'surprisal-demo-'));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', 'demo', '--outDir', join(out, 'site'), '--emptyOutDir', '--logLevel', 'error'], { cwd: root, stdio: 'pipe' });
    const log = execFileSync(process.execPath, [join(root, 'demo/check.mjs'), '--dir', join(out, 'site'), '--bench', '--screenshot', join(out, 'demo.png')],
      { cwd: root, encoding: 'utf8', env: { ...process.env, CHROMIUM } });
    expect(log).toContain('all checks passed');
    expect(log).not.toContain('FAIL');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
