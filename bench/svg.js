// bench/results.svg: throughput (elements/ns) against n, log–log, one panel per op
// (float32), one line per implementation.  Plain SVG, no dependencies.

const COLORS = { naive: '#888888', simd: '#d62728', zerocopy: '#ff7f0e', wasm: '#9467bd', js: '#2ca02c', tf: '#1f77b4', tfarray: '#17becf' };

export function chart(rows, machine, ids, impls) {
  const ops = [...new Set(rows.map((r) => r.op))];
  const perRow = 4, pw = 250, ph = 180, pad = { l: 46, r: 10, t: 26, b: 30 }, top = 56;
  const W = perRow * pw, H = top + Math.ceil(ops.length / perRow) * ph + 10;
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ys = rows.map((r) => r.elementsPerNs).filter((v) => v > 0);
  const ymin = Math.pow(10, Math.floor(Math.log10(Math.min(...ys)))), ymax = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys))));
  const xmin = Math.log10(ns[0]), xmax = Math.log10(ns[ns.length - 1]);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="8" y="16" font-size="12">Throughput (elements/ns, log) against n (log), float32 — ${machine.date}, ${escape(machine.cpu)}, Node ${machine.node}</text>`];
  let lx = 8;
  for (const id of ids) {
    const impl = impls.find((i) => i.id === id);
    if (!rows.some((r) => r.impl === id)) continue;
    out.push(`<line x1="${lx}" y1="34" x2="${lx + 18}" y2="34" stroke="${COLORS[id]}" stroke-width="2.5"/><text x="${lx + 22}" y="37">${escape(impl.label)}</text>`);
    lx += 30 + impl.label.length * 5.6;
  }
  ops.forEach((op, k) => {
    const ox = (k % perRow) * pw, oy = top + Math.floor(k / perRow) * ph;
    const X = (n) => ox + pad.l + ((Math.log10(n) - xmin) / (xmax - xmin)) * (pw - pad.l - pad.r);
    const Y = (v) => oy + pad.t + (1 - (Math.log10(v) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))) * (ph - pad.t - pad.b);
    out.push(`<text x="${ox + pad.l}" y="${oy + 16}" font-size="11" font-weight="bold">${escape(op)}</text>`);
    out.push(`<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${pw - pad.l - pad.r}" height="${ph - pad.t - pad.b}" fill="none" stroke="#ccc"/>`);
    for (let e = Math.log10(ymin); e <= Math.log10(ymax); e++) {
      out.push(`<text x="${ox + pad.l - 4}" y="${Y(10 ** e) + 3}" text-anchor="end">1e${e}</text>`);
    }
    for (const n of ns) out.push(`<text x="${X(n)}" y="${oy + ph - pad.b + 12}" text-anchor="middle">${n >= 1000 ? `1e${Math.round(Math.log10(n))}` : n}</text>`);
    for (const id of ids) {
      const pts = rows.filter((r) => r.op === op && r.impl === id && r.elementsPerNs > 0).sort((a, b) => a.n - b.n);
      if (pts.length) out.push(`<polyline fill="none" stroke="${COLORS[id]}" stroke-width="1.8" points="${pts.map((r) => `${X(r.n).toFixed(1)},${Y(r.elementsPerNs).toFixed(1)}`).join(' ')}"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

function escape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
