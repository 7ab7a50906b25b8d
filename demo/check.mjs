// Headless check of the built demo: node demo/check.mjs [--dir demo/dist-demo] [--bench] [--screenshot demo/screenshot.png]
//
// Serves the static build on localhost, opens it in Chromium (playwright-core, the system
// /usr/bin/chromium unless CHROMIUM is set), waits for the worker's first answers
// (body[data-ready="1"]), checks that the seed article's numbers are in the DOM, moves
// the sliders and checks the numbers change, optionally runs the in-browser benchmark,
// and writes a full-page screenshot.  Exits non-zero on any failure.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: join(here, 'dist-demo') },
    bench: { type: 'boolean', default: false },
    screenshot: { type: 'string', default: join(here, 'screenshot.png') },
  },
});

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };
const root = resolve(args.dir);
const server = createServer(async (req, res) => {
  try {
    let path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path.endsWith('/')) path += 'index.html';
    const file = join(root, path);
    if (!file.startsWith(root) || !(await stat(file)).isFile()) throw new Error('not found');
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(await readFile(file));
  } catch {
    res.writeHead(404).end('not found');
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // nothing beyond this server
  await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));

  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  const text = async (id) => (await page.locator(`[data-testid="${id}"]`).first().textContent()).trim();
  const num = async (id) => Number((await text(id)).replace('∞', 'Infinity'));
  const near = (a, b, tol) => Math.abs(a - b) <= tol;

  // the backend auto must pick: the best this Chromium validates, by probes of its own (a
  // v128.const, and i8x16.relaxed_swizzle for relaxed SIMD)
  const best = await page.evaluate(() => {
    const ok = (bytes) => { try { return WebAssembly.validate(new Uint8Array(bytes)); } catch { return false; } };
    const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0];
    const v128 = [253, 12, ...new Array(16).fill(0)];
    const simd = ok([...head, 10, 22, 1, 20, 0, ...v128, 11]);
    const relaxed = simd && ok([...head, 10, 43, 1, 41, 0, ...v128, ...v128, 253, 128, 2, 11]);
    return relaxed ? 'wasm-relaxed' : simd ? 'wasm-simd' : 'wasm';
  });
  check((await text('backend')) === best, `backend is ${best}, the best this browser validates (got ${await text('backend')})`);
  const seed = [
    ['coin-info-heads', 0.0145, 1e-4],
    ['coin-info-tails', 6.644, 1e-3],
    ['coin-entropy', 0.08079, 1e-5],
    ['coin-fair', 1, 0],
    ['rl-bonus-1', -0.619, 1e-3],
    ['rl-bonus-2', -1.985, 1e-3],
    ['mnist-loss', 0.2877, 1e-4],
    ['mnist-loss-logits', 0.2877, 1e-4],
    ['pq-CE', 1.233, 1e-3],
    ['pq-KL-PQ', 0.8043, 1e-4],
    ['pq-KL-QP', 1.099, 1e-3],
    ['pq-H-P', 0.4291, 1e-4],
    ['mnist-q5', 0.1, 1e-4],
  ];
  for (const [id, want, tol] of seed) {
    const got = await num(id);
    check(near(got, want, tol), `${id} = ${await text(id)} ≈ ${want}`);
  }
  const body = await page.locator('body').innerText();
  for (const s of ['0.01450', '6.644', '0.08079', '-0.6190', '-1.985', '0.2877']) check(body.includes(s), `"${s}" appears in the page`);

  // moving the coin slider changes the coin's numbers
  const before = [await text('coin-info-heads'), await text('coin-info-tails'), await text('coin-entropy')];
  await page.locator('[data-testid="coin-slider"]').fill('0.5');
  await page.waitForFunction(() => document.querySelector('[data-testid="coin-entropy"]').textContent === '1.000');
  const after = [await text('coin-info-heads'), await text('coin-info-tails'), await text('coin-entropy')];
  check(after.every((v, i) => v !== before[i]), `coin slider 0.99 → 0.5: ${before.join(', ')} → ${after.join(', ')}`);
  check(after[0] === '1.000' && after[1] === '1.000', 'fair coin: 1 bit for heads and for tails');

  // temperature changes the softmax entropy (higher T, flatter, more entropy)
  const h1 = await num('softmax-entropy');
  await page.locator('[data-testid="temperature-slider"]').fill('3');
  await page.waitForFunction((h) => Number(document.querySelector('[data-testid="softmax-entropy"]').textContent) !== h, h1);
  check((await num('softmax-entropy')) > h1, `temperature 1 → 3 raises softmaxEntropy ${h1} → ${await num('softmax-entropy')}`);

  // bits toggle
  await page.locator('[data-testid="unit-bits"]').check({ force: true });
  await page.waitForFunction(() => document.querySelector('[data-testid="pq-H-P"]').textContent === '0.6190');
  check(near(await num('pq-KL-PQ'), 0.8043070870956021 / Math.LN2, 1e-3), `bits: D(P‖Q) = ${await text('pq-KL-PQ')}`);
  await page.locator('[data-testid="unit-nats"]').check({ force: true });
  await page.waitForFunction(() => document.querySelector('[data-testid="pq-H-P"]').textContent === '0.4291');

  // a P slider moves the divergences; the MNIST class changes the loss
  const kl = await text('pq-KL-PQ');
  await page.locator('[data-testid="p-slider-0"]').fill('0.3');
  await page.waitForFunction((v) => document.querySelector('[data-testid="pq-KL-PQ"]').textContent !== v, kl);
  check(true, `p-slider-0 → 0.3: D(P‖Q) ${kl} → ${await text('pq-KL-PQ')}`);
  await page.locator('[data-testid="mnist-class"]').selectOption('6');
  await page.waitForFunction(() => document.querySelector('[data-testid="mnist-loss"]').textContent === '6.908');
  check(true, 'MNIST true class 6: loss −ln 0.001 = 6.908');

  // dragging P's bar for x2 up to about 0.5 (the others keep their proportions)
  await page.locator('[data-testid="pq-preset-article"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="pq-KL-PQ"]').textContent === '0.8043');
  const svg = await page.locator('[data-testid="pq-chart"]').boundingBox();
  const geom = await page.evaluate(() => {
    const s = document.querySelector('[data-testid="pq-chart"]');
    const g = s._geom;
    return { vb: s.viewBox.baseVal.width, vbh: s.viewBox.baseVal.height, x: g.m.l + g.gw * 1 + g.pad + g.bw / 2, y: g.m.t + g.ph * 0.5 };
  });
  const scale = svg.width / geom.vb;
  await page.mouse.move(svg.x + geom.x * scale, svg.y + (geom.vbh - 20) * scale);
  await page.mouse.down();
  await page.mouse.move(svg.x + geom.x * scale, svg.y + geom.y * scale, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => Math.abs(Number(document.querySelector('[data-testid="pq-p-1"]').textContent) - 0.5) < 0.02);
  check(true, `dragging P's x2 bar: p₂ = ${await text('pq-p-1')}, D(P‖Q) = ${await text('pq-KL-PQ')}`);

  // q₁ = 0 under p₁ > 0: D(P‖Q) and H(P,Q) are infinite, JS stays finite (≤ ln 2)
  await page.locator('[data-testid="q-slider-0"]').fill('0');
  await page.waitForFunction(() => document.querySelector('[data-testid="pq-KL-PQ"]').textContent === '∞');
  check((await text('pq-CE')) === '∞' && (await num('pq-JS')) <= Math.LN2, `q₁ = 0: D(P‖Q) = ∞, H(P,Q) = ${await text('pq-CE')}, JS = ${await text('pq-JS')}`);

  // the JS backend gives the same numbers
  await page.locator('[data-testid="backend-select"]').selectOption('js');
  await page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelector('[data-testid="backend"]').textContent === 'js');
  check(near(await num('rl-bonus-1'), -0.619, 1e-3), `backend js: rl-bonus-1 = ${await text('rl-bonus-1')}`);
  await page.locator('[data-testid="backend-select"]').selectOption('auto');
  await page.waitForFunction((b) => document.body.dataset.ready === '1' && document.querySelector('[data-testid="backend"]').textContent === b, best);

  // put the seed's state back for the screenshot
  await page.locator('[data-testid="coin-slider"]').fill('0.99');
  await page.locator('[data-testid="temperature-slider"]').fill('1');
  await page.locator('[data-testid="mnist-class"]').selectOption('2');
  await page.locator('[data-testid="pq-preset-article"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="coin-entropy"]').textContent === '0.08079' && document.querySelector('[data-testid="pq-KL-PQ"]').textContent === '0.8043' && document.querySelector('[data-testid="mnist-loss"]').textContent === '0.2877');

  if (args.bench) {
    const t0 = Date.now();
    await page.locator('[data-testid="bench-run"]').click();
    await page.waitForSelector('body[data-bench-done="1"]', { timeout: 60000 });
    const rows = await page.locator('[data-testid="bench-results"] tbody tr').count();
    check(rows === 12, `benchmark: ${rows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(await page.locator('[data-testid="bench-results"]').innerText());
  }

  await page.screenshot({ path: args.screenshot, fullPage: true });
  const shot = await readFile(args.screenshot);
  check(shot.length > 50_000, `screenshot ${args.screenshot} (${shot.length} bytes)`);
  check(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join('; ') : ''}`);
} finally {
  await browser.close();
  server.close();
}
if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
