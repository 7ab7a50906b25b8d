// Deletes the declaration files of dist/ that no public entry point's types reach (the
// engine, kernels, twins, pool protocol…): they document internals a user cannot import;
// and in those kept, the doc comments of private members, which no editor shows.
// Run by `npm run build:ts` after tsc; the entry points are package.json's `types`.
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries = new Set([pkg.types]);
for (const target of Object.values(pkg.exports)) if (typeof target === 'object' && target.types) entries.add(target.types);

const keep = new Set();
const visit = (file) => {
  if (keep.has(file)) return;
  keep.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) visit(resolve(dirname(file), `${m[1]}.d.ts`));
};
for (const e of entries) visit(resolve(root, e));

const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.d.ts') && !keep.has(p)) rmSync(p);
    else if (p.endsWith('.d.ts')) writeFileSync(p, readFileSync(p, 'utf8').replace(/^ *\/\*\*(?:[^*]|\*(?!\/))*\*\/\n(?= *private )/gm, ''));
  }
};
walk(join(root, 'dist'));
