// The README's code is the library's: every ```js block that imports from 'surprisal'
// (or 'surprisal/pool') is run, and every line of it that ends in `// → value` is
// checked.  A value is a JS literal (number, array, object), followed by two spaces or
// " (" and a note; a number is checked to the float64 bound (1e-13 relative, 1e-15
// absolute), or, written `≈value`, to the float32 bound (2e-6 relative); arrays and
// objects entry by entry.  Blocks of the main API run on every backend (`init()` in a
// block loads the backend under test); blocks of the pool run once, on the built package.
// Blocks that import from anywhere else (a browser worker's relative path) are not run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as surprisal from '../src/index.js';
import { type Backend } from '../src/index.js';
import { onEachBackend } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const IMPORT = /^import .* from 'surprisal(\/pool)?';(\s*\/\/.*)?$/;
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.split('\n').some((l) => IMPORT.test(l.trim())));
const usesPool = (b: string) => b.includes("from 'surprisal/pool'");

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

interface Check { want: unknown; approx: boolean; line: string }

/** The block as a function body, each checked line's expression wrapped in __check(i, …). */
function compile(block: string): { body: string; checks: Check[] } {
  const checks: Check[] = [];
  const lines = block.split('\n').map((line) => {
    if (IMPORT.test(line.trim())) return '';
    const m = line.match(/^(.*?);\s*\/\/ → (.*)$/);
    if (!m) return line;
    const rest = m[2];
    const cut = rest.search(/ {2}| \(/);
    let text = (cut < 0 ? rest : rest.slice(0, cut)).trim();
    const approx = text.startsWith('≈');
    if (approx) text = text.slice(1);
    checks.push({ want: new Function(`return (${text});`)(), approx, line: line.trim() });
    const i = checks.length - 1;
    const decl = m[1].match(/^(\s*(?:const|let)\s+\w+\s*=\s*)(.*)$/);
    return decl ? `${decl[1]}__check(${i}, ${decl[2]});` : `__check(${i}, ${m[1]});`;
  });
  return { body: lines.join('\n'), checks };
}

/** got against want: numbers within the bound, arrays and objects entry by entry. */
function expectValue(got: unknown, want: unknown, approx: boolean, line: string): void {
  if (typeof want === 'number') {
    expect(typeof got, line).toBe('number');
    const g = got as number;
    if (Number.isNaN(want)) return void expect(g, line).toBeNaN();
    if (!Number.isFinite(want)) return void expect(g, line).toBe(want);
    const tol = approx ? 2e-6 * Math.abs(want) + 1e-44 : 1e-13 * Math.abs(want) + 1e-15;
    expect(Math.abs(g - want), `${line}: got ${g}`).toBeLessThanOrEqual(tol);
  } else if (Array.isArray(want)) {
    const g = got as ArrayLike<unknown>;
    expect(g?.length, line).toBe(want.length);
    want.forEach((w, i) => expectValue(g[i], w, approx, `${line} [${i}]`));
  } else if (want !== null && typeof want === 'object') {
    for (const [k, w] of Object.entries(want)) expectValue((got as Record<string, unknown>)[k], w, approx, `${line} .${k}`);
  } else expect(got, line).toEqual(want);
}

async function run(block: string, api: Record<string, unknown>): Promise<void> {
  const { body, checks } = compile(block);
  const seen = new Set<number>();
  const check = (i: number, got: unknown) => {
    seen.add(i);
    expectValue(got, checks[i].want, checks[i].approx, checks[i].line);
    return got;
  };
  await new AsyncFunction('api', '__check', `const { ${Object.keys(api).join(', ')} } = api;\n${body}`)(api, check);
  expect(seen.size, 'every checked line ran').toBe(checks.length);
}

it('has the article block, and its checks', () => {
  const article = blocks.find((b) => b.includes('information(0.99'));
  expect(article).toBeDefined();
  expect(compile(article!).checks.length).toBeGreaterThanOrEqual(15);
});

onEachBackend('README', (b: Backend) => {
  // `init()` in a block loads the backend under test (and the next block starts on it again)
  const api = { ...surprisal, init: (o?: surprisal.InitOptions) => surprisal.init({ ...o, backend: o?.backend ?? b }) };
  for (const [k, block] of blocks.entries()) {
    if (usesPool(block)) continue;
    it(`block ${k + 1}: ${compile(block).checks.length} values`, async () => {
      try {
        await run(block, api);
      } finally {
        await surprisal.init({ backend: b });
      }
    });
  }
});

describe('README, the pool', () => {
  for (const [k, block] of blocks.entries()) {
    if (!usesPool(block)) continue;
    it(`block ${k + 1}: ${compile(block).checks.length} values`, async () => {
      const { createPool } = await import('../dist/pool/node.js');
      await run(block, { ...surprisal, createPool });
    });
  }
});
