// Small SVG charts, drawn from scratch on every update (they have a few dozen elements).
// Nothing here computes anything but pixel positions.

const NS = 'http://www.w3.org/2000/svg';

export function el(tag, attrs = {}, parent = null, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function clear(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
}

/** Pointer position in the svg's viewBox coordinates. */
function svgPoint(svg, event) {
  const pt = svg.createSVGPoint();
  pt.x = event.clientX;
  pt.y = event.clientY;
  return pt.matrixTransform(svg.getScreenCTM().inverse());
}

const short = (v) => {
  if (!Number.isFinite(v)) return v > 0 ? '∞' : v < 0 ? '−∞' : 'NaN';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return trim(v.toFixed(2));
  if (a >= 0.001) return trim(v.toFixed(3));
  return v.toExponential(0);
};
const trim = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);

/**
 * A grouped bar chart.  opts: { labels, series: [{ name, color, values }], yMin, yMax,
 * yTicks, width, height, highlight (index), onDrag(seriesIndex, index, value) }.
 * With onDrag, pressing anywhere in a bar's column and dragging sets that bar's value.
 */
export function barChart(svg, opts) {
  const { labels, series, yMin = 0, yMax = 1, yTicks = [0, 0.25, 0.5, 0.75, 1], width = 480, height = 210, highlight = -1, valueLabels = true, xTitle = null } = opts;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  clear(svg);
  const m = { l: 38, r: 8, t: 16, b: xTitle ? 34 : 22 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const y = (v) => m.t + ph * (1 - (Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin));
  for (const t of yTicks) {
    el('line', { x1: m.l, x2: width - m.r, y1: y(t), y2: y(t), class: t === 0 ? 'axis' : 'grid' }, svg);
    el('text', { x: m.l - 5, y: y(t) + 3.5, class: 'tick', 'text-anchor': 'end' }, svg, short(t));
  }
  const n = labels.length;
  const gw = pw / n;
  const pad = Math.min(10, gw * 0.15);
  const bw = (gw - 2 * pad) / series.length;
  if (highlight >= 0) el('rect', { x: m.l + highlight * gw + 1, y: m.t - 10, width: gw - 2, height: ph + 10 + 18, class: 'highlight', rx: 4 }, svg);
  series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      const x = m.l + i * gw + pad + si * bw;
      const top = y(Math.max(v, 0));
      const bottom = y(Math.min(v, 0));
      el('rect', { x: x + 1, y: top, width: Math.max(bw - 2, 1), height: Math.max(bottom - top, v === 0 ? 0 : 0.8), fill: s.colors?.[i] ?? s.color, rx: 2, class: opts.onDrag ? 'bar draggable' : 'bar' }, svg);
      if (valueLabels) {
        const ty = v >= 0 ? top - 3 : bottom + 10;
        el('text', { x: x + bw / 2, y: Math.max(ty, 9), class: 'value', 'text-anchor': 'middle' }, svg, short(v));
      }
    });
  });
  labels.forEach((lab, i) => el('text', { x: m.l + (i + 0.5) * gw, y: height - m.b + 14, class: 'label', 'text-anchor': 'middle' }, svg, lab));
  if (xTitle) el('text', { x: m.l + pw / 2, y: height - 4, class: 'axis-title', 'text-anchor': 'middle' }, svg, xTitle);

  if (opts.onDrag && !svg._dragWired) {
    svg._dragWired = true;
    svg.classList.add('drag-target');
    let target = null;
    const valueAt = (ev) => {
      const { m: mm, ph: pph, yMin: lo, yMax: hi } = svg._geom;
      const p = svgPoint(svg, ev);
      return lo + (hi - lo) * (1 - (p.y - mm.t) / pph);
    };
    svg.addEventListener('pointerdown', (ev) => {
      const g = svg._geom;
      const p = svgPoint(svg, ev);
      const i = Math.floor((p.x - g.m.l) / g.gw);
      if (i < 0 || i >= g.n) return;
      const si = Math.min(g.ns - 1, Math.max(0, Math.floor((p.x - g.m.l - i * g.gw - g.pad) / g.bw)));
      target = { si, i };
      svg.setPointerCapture(ev.pointerId);
      ev.preventDefault();
      svg._onDrag(si, i, valueAt(ev));
    });
    svg.addEventListener('pointermove', (ev) => {
      if (target) svg._onDrag(target.si, target.i, valueAt(ev));
    });
    const end = () => (target = null);
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
  }
  svg._geom = { m, ph, yMin, yMax, gw, pad, bw, n, ns: series.length };
  svg._onDrag = opts.onDrag;
}

/**
 * A line chart.  opts: { series: [{ name, color, dash, points: [[x, y]] }], xLog, yLog,
 * xDomain, yDomain, xTicks, yTicks, xFormat, yFormat, xTitle, yTitle, markers: [{x, y, color, label}],
 * vlines: [{x, color}], legend }.
 */
export function lineChart(svg, opts) {
  const { series, xLog = false, yLog = false, width = 480, height = 240, xTicks = [], yTicks = [], xFormat = short, yFormat = short, xTitle, yTitle, markers = [], vlines = [], legend = true, title } = opts;
  let [x0, x1] = opts.xDomain;
  let [y0, y1] = opts.yDomain;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  clear(svg);
  const m = { l: 46, r: 10, t: title ? 22 : 10, b: 38 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const fx = xLog ? Math.log10 : (v) => v;
  const fy = yLog ? Math.log10 : (v) => v;
  [x0, x1, y0, y1] = [fx(x0), fx(x1), fy(y0), fy(y1)];
  const X = (v) => m.l + (pw * (fx(v) - x0)) / (x1 - x0);
  const Y = (v) => m.t + ph * (1 - (Math.min(Math.max(fy(v), y0), y1) - y0) / (y1 - y0));
  if (title) el('text', { x: m.l, y: 14, class: 'chart-title' }, svg, title);
  for (const t of yTicks) {
    el('line', { x1: m.l, x2: width - m.r, y1: Y(t), y2: Y(t), class: 'grid' }, svg);
    el('text', { x: m.l - 5, y: Y(t) + 3.5, class: 'tick', 'text-anchor': 'end' }, svg, yFormat(t));
  }
  for (const t of xTicks) {
    el('line', { x1: X(t), x2: X(t), y1: m.t, y2: m.t + ph, class: 'grid' }, svg);
    el('text', { x: X(t), y: m.t + ph + 14, class: 'tick', 'text-anchor': 'middle' }, svg, xFormat(t));
  }
  el('line', { x1: m.l, x2: m.l + pw, y1: m.t + ph, y2: m.t + ph, class: 'axis' }, svg);
  el('line', { x1: m.l, x2: m.l, y1: m.t, y2: m.t + ph, class: 'axis' }, svg);
  if (xTitle) el('text', { x: m.l + pw / 2, y: height - 4, class: 'axis-title', 'text-anchor': 'middle' }, svg, xTitle);
  if (yTitle) el('text', { x: 11, y: m.t + ph / 2, class: 'axis-title', 'text-anchor': 'middle', transform: `rotate(-90 11 ${m.t + ph / 2})` }, svg, yTitle);
  for (const v of vlines) el('line', { x1: X(v.x), x2: X(v.x), y1: m.t, y2: m.t + ph, stroke: v.color, class: 'vline' }, svg);
  for (const s of series) {
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && (!yLog || b > 0));
    if (!pts.length) continue;
    el('polyline', { points: pts.map(([a, b]) => `${X(a).toFixed(1)},${Y(b).toFixed(1)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': s.width ?? 2, 'stroke-dasharray': s.dash, 'stroke-linejoin': 'round' }, svg);
    if (s.dots) for (const [a, b] of pts) el('circle', { cx: X(a), cy: Y(b), r: 3, fill: s.color }, svg);
  }
  for (const mk of markers) {
    el('circle', { cx: X(mk.x), cy: Y(mk.y), r: 5, fill: mk.color, stroke: 'white', 'stroke-width': 1.5 }, svg);
    if (mk.label) el('text', { x: X(mk.x) + (mk.x > (opts.xDomain[0] + opts.xDomain[1]) / 2 ? -8 : 8), y: Y(mk.y) - 8, class: 'marker-label', 'text-anchor': mk.x > (opts.xDomain[0] + opts.xDomain[1]) / 2 ? 'end' : 'start' }, svg, mk.label);
  }
  if (legend) {
    let lx = m.l + 8;
    const ly = m.t + 10;
    for (const s of series) {
      if (!s.name) continue;
      el('line', { x1: lx, x2: lx + 16, y1: ly, y2: ly, stroke: s.color, 'stroke-width': 2.5, 'stroke-dasharray': s.dash }, svg);
      const t = el('text', { x: lx + 20, y: ly + 3.5, class: 'legend' }, svg, s.name);
      lx += 28 + s.name.length * 5.6;
    }
  }
}
