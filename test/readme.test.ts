// The README's numbers are the library's: every line of a ```js block that ends in
// `// → value` is run (on every backend) and its value checked to the last digit shown.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as surprisal from '../src/index.js';
import { onEachBackend } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('// →'));

interface Check { expr: string; want: string; line: string }

function compile(block: string): { body: string; checks: Check[] } {
  const checks: Check[] = [];
  const lines = block.split('\n').map((line) => {
    if (/^import .* from 'surprisal';$/.test(line.trim())) return '';
    const m = line.match(/^(.*?);\s*\/\/ → (\S+)/);
    if (!m) return line;
    checks.push({ expr: m[1], want: m[2], line });
    return `__check(${checks.length - 1}, ${m[1]});`;
  });
  return { body: lines.join('\n'), checks };
}

onEachBackend('README', () => {
  it('has the article block', () => expect(blocks.length).toBeGreaterThan(0));
  for (const [b, block] of blocks.entries()) {
    const { body, checks } = compile(block);
    it(`block ${b + 1}: ${checks.length} values`, () => {
      const seen: number[] = [];
      const check = (i: number, got: unknown) => {
        const want = Number(checks[i].want);
        seen.push(i);
        // the value shown is the float64 result; the JS and wasm paths may differ in the last ulp
        expect(Math.abs((got as number) - want), checks[i].line).toBeLessThanOrEqual(Math.abs(want) * 4e-16);
      };
      new Function('surprisal', '__check', `const { ${Object.keys(surprisal).join(', ')} } = surprisal;\n${body}`)(surprisal, check);
      expect(seen.length).toBe(checks.length);
    });
  }
});
