// The report: bench/results.json (machine, and every table with its raw records),
// bench/results.md (the same tables in markdown) and bench/results.svg (throughput
// against n from the main table).  A run of some tables only (--pool, --scaling,
// --suites …) replaces those tables in the existing results.json and rewrites the markdown
// and chart from it; each table keeps the run (date, Node, load) it came from.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

// ---------------------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------------------

export const fmtTime = (ms) => (!Number.isFinite(ms) ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms`
  : ms >= 1e-3 ? `${(ms * 1e3).toFixed(ms >= 0.1 ? 0 : 1)} µs` : `${(ms * 1e6).toFixed(0)} ns`);
export const fmtNs = (ms) => (!Number.isFinite(ms) ? '—' : `${(ms * 1e6).toFixed(ms * 1e6 >= 100 ? 0 : 1)}`);
export const fmtX = (x) => (x == null || !Number.isFinite(x) ? '—' : `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);
export const fmtRate = (x) => (!Number.isFinite(x) ? '—' : x >= 10 ? x.toFixed(1) : x >= 0.01 ? x.toFixed(3) : x.toExponential(1));
export const fmtErr = (e) => (e == null ? '—' : Number.isNaN(e) ? 'NaN' : e === 0 ? '0' : e.toExponential(1));
export const fmtMB = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
export const fmtN = (n) => {
  if (n < 1e4) return String(n);
  const e = Math.floor(Math.log10(n)), m = n / 10 ** e;
  return Number.isInteger(m) ? (m === 1 ? `1e${e}` : `${m}e${e}`) : `${+m.toFixed(2)}e${e}`;
};

// ---------------------------------------------------------------------------------------
// markdown
// ---------------------------------------------------------------------------------------

function markdownTable({ columns, align, rows }) {
  const sep = columns.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? '---' : '---:'));
  return [`| ${columns.join(' | ')} |`, `|${sep.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const runLine = (run, m) => `${run.date}${run.cpu && (run.cpu !== m.cpu || run.cores !== m.cores) ? `, ${run.cpu} (${run.cores} cores)` : ''}, Node ${run.node}${run.quick ? ', --quick (not a measurement)' : ''}, load average ${run.load.start.toFixed(1)} → ${run.load.end.toFixed(1)}`;

const ORDER = ['main', 'patterns', 'narrow', 'small', 'new', 'scaling', 'pool'];

export function markdown(results) {
  const m = results.machine;
  const out = [
    '# surprisal benchmark',
    '',
    `${m.cpu} (${m.cores} cores, ${fmtMB(m.memory)} memory), ${m.os}; Node ${m.node} (V8 ${m.v8}); surprisal ${m.surprisal} (${m.commit}), backends ${m.backends.join(', ')} (default ${m.defaultBackend})` +
      `${m.unavailable.length ? `; not loadable here: ${m.unavailable.join(', ')}` : ''}; TF.js ${m.tfjs ?? 'not loaded'}; onnxruntime-web ${m.onnx ?? 'not loaded'}.`,
    '',
    `Regenerate with \`npm run bench\` (all tables; the size scaling is the slow part), or one table with \`npm run bench -- --suites <id>\` (${ORDER.join(', ')}). tinybench; every comparison runs its tasks in turn in interleaved rounds, in one process, inputs rotating over a few sets, every result consumed. See bench/README.md.`,
    '',
  ];
  const ids = Object.keys(results.tables).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  out.push('Contents: ' + ids.map((id, i) => `${i + 1}. [${results.tables[id].title}](#${i + 1}-${slug(results.tables[id].title)})`).join(' · '), '');
  ids.forEach((id, i) => {
    const t = results.tables[id];
    out.push(`## ${i + 1}. ${t.title}`, '', `Measured ${runLine(t.run, m)}.`, '');
    for (const note of t.notes) out.push(note, '');
    for (const s of t.sections) {
      if (s.heading) out.push(`### ${s.heading}`, '');
      if (s.note) out.push(s.note, '');
      out.push(markdownTable(s), '');
    }
  });
  return out.join('\n');
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');

// ---------------------------------------------------------------------------------------
// the chart: el/ns against n (log–log), one panel per op, float32, one line per implementation
// ---------------------------------------------------------------------------------------

const COLORS = { naive: '#888888', surprisal: '#d62728', zerocopy: '#ff7f0e', 'wasm-relaxed': '#8c564b', 'wasm-simd': '#e377c2', wasm: '#9467bd', js: '#2ca02c', tf: '#1f77b4', 'tf-read': '#17becf', ort: '#bcbd22' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function svg(results) {
  const main = results.tables.main;
  if (!main) return null;
  const rows = main.records.filter((r) => r.dtype === 'float32' && !r.shape && r.elPerNs > 0 && COLORS[r.impl]);
  const ops = [...new Set(rows.map((r) => r.op))];
  const ids = Object.keys(COLORS).filter((id) => rows.some((r) => r.impl === id));
  const labelOf = (id) => rows.find((r) => r.impl === id).label;
  const perRow = 4, pw = 250, ph = 180, pad = { l: 46, r: 10, t: 26, b: 30 }, top = 74;
  const W = perRow * pw, H = top + Math.ceil(ops.length / perRow) * ph + 10;
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ys = rows.map((r) => r.elPerNs);
  const lo = Math.floor(Math.log10(Math.min(...ys))), hi = Math.ceil(Math.log10(Math.max(...ys)));
  const xmin = Math.log10(ns[0]), xmax = Math.log10(ns[ns.length - 1]);
  const m = results.machine;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="8" y="16" font-size="12">Elements per ns (log) against n (log), float32 — ${esc(main.run.date)}, ${esc(m.cpu)}, Node ${esc(main.run.node)}${main.run.quick ? ' (--quick: not a measurement)' : ''}</text>`];
  let lx = 8, ly = 36;
  for (const id of ids) {
    const label = labelOf(id);
    const w = 30 + label.length * 5.4;
    if (lx + w > W) { lx = 8; ly += 16; }
    out.push(`<line x1="${lx.toFixed(1)}" y1="${ly}" x2="${(lx + 18).toFixed(1)}" y2="${ly}" stroke="${COLORS[id]}" stroke-width="2.5"/><text x="${(lx + 22).toFixed(1)}" y="${ly + 3}">${esc(label)}</text>`);
    lx += w;
  }
  ops.forEach((op, k) => {
    const ox = (k % perRow) * pw, oy = top + Math.floor(k / perRow) * ph;
    const X = (n) => ox + pad.l + ((Math.log10(n) - xmin) / (xmax - xmin || 1)) * (pw - pad.l - pad.r);
    const Y = (v) => oy + pad.t + (1 - (Math.log10(v) - lo) / (hi - lo || 1)) * (ph - pad.t - pad.b);
    out.push(`<text x="${ox + pad.l}" y="${oy + 16}" font-size="11" font-weight="bold">${esc(op)}</text>`);
    out.push(`<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${pw - pad.l - pad.r}" height="${ph - pad.t - pad.b}" fill="none" stroke="#ccc"/>`);
    for (let e = lo; e <= hi; e++) out.push(`<text x="${ox + pad.l - 4}" y="${Y(10 ** e) + 3}" text-anchor="end">1e${e}</text>`);
    for (const n of ns) out.push(`<text x="${X(n)}" y="${oy + ph - pad.b + 12}" text-anchor="middle">${n >= 1000 ? `1e${Math.round(Math.log10(n))}` : n}</text>`);
    for (const id of ids) {
      const pts = rows.filter((r) => r.op === op && r.impl === id).sort((a, b) => a.n - b.n);
      if (pts.length) out.push(`<polyline fill="none" stroke="${COLORS[id]}" stroke-width="1.6" points="${pts.map((r) => `${X(r.n).toFixed(1)},${Y(r.elPerNs).toFixed(1)}`).join(' ')}"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------
// files
// ---------------------------------------------------------------------------------------

/**
 * Writes results.{json,md,svg} under dir (name: the files' base name).  `merge`: keep the
 * tables of an existing results.json that this run did not make.
 */
export function write(dir, name, machine, tables, { merge }) {
  mkdirSync(dir, { recursive: true });
  const base = `${dir.replace(/\/$/, '')}/${name}`;
  let results = { machine, tables: {} };
  if (merge && existsSync(`${base}.json`)) {
    try {
      const old = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
      // this run's machine facts over the old ones (a peer this run did not load keeps the old entry)
      const known = Object.fromEntries(Object.entries(machine).filter(([, v]) => v != null));
      if (old.tables) results = { machine: { ...old.machine, ...known }, tables: old.tables };
    } catch {
      // an unreadable old file is replaced
    }
  }
  for (const t of tables) results.tables[t.id] = t;
  writeFileSync(`${base}.json`, `${JSON.stringify(results, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1)}\n`);
  const md = markdown(results);
  writeFileSync(`${base}.md`, md);
  const chart = svg(results);
  if (chart) writeFileSync(`${base}.svg`, chart);
  return { files: [`${base}.json`, `${base}.md`, ...(chart ? [`${base}.svg`] : [])], md };
}
