// The demo's main thread: it owns the controls and draws; every number comes from
// surprisal running in worker.js.
import { barChart, lineChart } from './charts.js';

const $ = (sel, root = document) => root.querySelector(sel);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const COLORS = { p: '#2563eb', q: '#ea7317', p2: '#059669', muted: '#94a3b8', accent: '#7c3aed', bad: '#dc2626' };

// ---------------------------------------------------------------------------------------
// talking to the worker
// ---------------------------------------------------------------------------------------

class Compute {
  constructor(onError) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.worker.onmessage = (e) => {
      const { id, result, error, progress } = e.data;
      const p = this.pending.get(id);
      if (!p) return;
      if (progress !== undefined) return p.onProgress?.(progress);
      this.pending.delete(id);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(result);
    };
    this.worker.onerror = (e) => onError(`worker error: ${e.message ?? e}`);
  }
  call(type, args, onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, args });
    });
  }
}

function showError(msg) {
  const e = $('#error');
  e.hidden = false;
  e.textContent = msg;
}
function clearError() {
  $('#error').hidden = true;
}

const compute = new Compute(showError);

/**
 * A panel's update function: at most one request in flight; while one is, only the
 * latest arguments are kept (so dragging a slider never queues stale work).
 */
function panel(type, args, render) {
  let inflight = null;
  let queued = false;
  const run = async () => {
    try {
      const r = await compute.call(type, args());
      render(r);
    } catch (err) {
      showError(`${type}: ${err.message}`);
    }
  };
  return function update() {
    if (inflight) {
      queued = true;
      return inflight;
    }
    inflight = (async () => {
      do {
        queued = false;
        await run();
      } while (queued);
      inflight = null;
    })();
    return inflight;
  };
}

// ---------------------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------------------

/** 4 significant digits; ASCII minus so tests can parseFloat the text. */
export function fmt(x, digits = 4) {
  if (typeof x !== 'number' || Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e6) return x.toPrecision(digits);
  return x.toExponential(digits - 1);
}

function out(testid, value, digits) {
  const node = byTestId(testid);
  if (!node) return;
  node.textContent = fmt(value, digits);
  node.dataset.value = String(value);
  node.title = String(value);
}

function slider({ testid, min, max, step, value, label, onInput, cls = '' }) {
  const wrap = document.createElement('label');
  wrap.className = `slider ${cls}`;
  if (label) {
    const l = document.createElement('span');
    l.className = 'slider-label';
    l.innerHTML = label;
    wrap.appendChild(l);
  }
  const input = document.createElement('input');
  Object.assign(input, { type: 'range', min, max, step, value });
  input.dataset.testid = testid;
  input.addEventListener('input', () => onInput(Number(input.value)));
  wrap.appendChild(input);
  const val = document.createElement('output');
  val.className = 'slider-value';
  wrap.appendChild(val);
  return { wrap, input, val };
}

// ---------------------------------------------------------------------------------------
// §1–2 the coin
// ---------------------------------------------------------------------------------------

const coin = { heads: 0.99 };
const updateCoin = panel('coin', () => ({ heads: coin.heads }), (r) => {
  $('#coin-p').textContent = r.heads.toFixed(3);
  out('coin-info-heads', r.infoHeads);
  out('coin-info-tails', r.infoTails);
  out('coin-entropy', r.entropy);
  out('coin-fair', r.fair);
  const N = r.curve.length - 1;
  lineChart($('#coin-chart'), {
    width: 480,
    height: 190,
    series: [{ name: 'H(p) in bits', color: COLORS.p, points: r.curve.map((h, i) => [i / N, h]) }],
    xDomain: [0, 1],
    yDomain: [0, 1.08],
    xTicks: [0, 0.25, 0.5, 0.75, 1],
    yTicks: [0, 0.5, 1],
    xTitle: 'P(heads)',
    yTitle: 'bits',
    legend: false,
    markers: [{ x: r.heads, y: r.entropy, color: COLORS.q, label: `H = ${fmt(r.entropy)} bits` }],
  });
});
$('#coin-slider').addEventListener('input', (e) => {
  coin.heads = Number(e.target.value);
  updateCoin();
});
document.querySelectorAll('[data-coin]').forEach((b) =>
  b.addEventListener('click', () => {
    coin.heads = Number(b.dataset.coin);
    $('#coin-slider').value = String(coin.heads);
    updateCoin();
  }),
);

// ---------------------------------------------------------------------------------------
// §3 the RL entropy bonus
// ---------------------------------------------------------------------------------------

const RL_ARTICLE = [
  [0.9, 0.05, 0.025, 0.025],
  [0.3, 0.2, 0.25, 0.25],
];
const rl = { policies: RL_ARTICLE.map((p) => p.slice()) };
const rlSliders = [[], []];
const updateRl = panel('rl', () => ({ policies: rl.policies }), (r) => {
  r.forEach((res, k) => {
    out(`rl-bonus-${k + 1}`, res.bonus);
    out(`rl-bonus-${k + 1}-logits`, res.bonusFromLogits);
    barChart($(`#rl-chart-${k + 1}`), {
      width: 260,
      height: 130,
      labels: res.p.map((_, i) => `a${i + 1}`),
      series: [{ color: k === 0 ? COLORS.p : COLORS.p2, values: res.p }],
      yTicks: [0, 0.5, 1],
    });
    rlSliders[k].forEach((s, i) => (s.val.textContent = res.p[i].toFixed(3)));
  });
  const [a, b] = r;
  const flatter = a.entropy > b.entropy ? 1 : 2;
  $('#rl-verdict').innerHTML =
    a.entropy === b.entropy
      ? 'Both policies are equally random: the same bonus.'
      : `Policy ${flatter} is flatter: its bonus is lower by <b>${fmt(Math.abs(a.bonus - b.bonus))}</b> bits, so adding −<i>H</i> to the loss favours it.`;
});
for (const k of [0, 1]) {
  const box = $(`#rl-sliders-${k + 1}`);
  rl.policies[k].forEach((w, i) => {
    const s = slider({
      testid: `rl${k + 1}-slider-${i}`,
      min: 0,
      max: 1,
      step: 0.005,
      value: w,
      label: `a${i + 1}`,
      onInput: (v) => {
        rl.policies[k][i] = v;
        if (rl.policies[k].every((x) => x === 0)) return;
        updateRl();
      },
    });
    rlSliders[k].push(s);
    box.appendChild(s.wrap);
  });
}
$('#rl-reset').addEventListener('click', () => {
  rl.policies = RL_ARTICLE.map((p) => p.slice());
  rl.policies.forEach((p, k) => p.forEach((w, i) => (rlSliders[k][i].input.value = String(w))));
  updateRl();
});

// ---------------------------------------------------------------------------------------
// §4–5 P and Q
// ---------------------------------------------------------------------------------------

const PQ_ARTICLE = { p: [0.9, 0.05, 0.025, 0.025], q: [0.3, 0.2, 0.25, 0.25] };
const pq = { p: PQ_ARTICLE.p.slice(), q: PQ_ARTICLE.q.slice(), unit: 'nats', last: null };
let pqSliders = { p: [], q: [] };

const updatePq = panel('pq', () => ({ p: pq.p, q: pq.q, unit: pq.unit }), (r) => {
  pq.last = r;
  out('pq-H-P', r.HP);
  out('pq-H-Q', r.HQ);
  out('pq-CE', r.CE);
  out('pq-KL-PQ', r.KLPQ);
  out('pq-KL-QP', r.KLQP);
  out('pq-JS', r.JS);
  out('pq-JS-max', r.maxJS);
  out('pq-H-plus-KL', r.HPplusKL);
  document.querySelectorAll('#pq .unit').forEach((u) => (u.textContent = pq.unit));
  r.P.forEach((v, i) => pqSliders.p[i] && (pqSliders.p[i].val.textContent = v.toFixed(3)));
  r.Q.forEach((v, i) => pqSliders.q[i] && (pqSliders.q[i].val.textContent = v.toFixed(3)));
  r.P.forEach((v, i) => pqSliders.p[i]?.val.setAttribute('data-testid', `pq-p-${i}`));
  r.Q.forEach((v, i) => pqSliders.q[i]?.val.setAttribute('data-testid', `pq-q-${i}`));
  barChart($('#pq-chart'), {
    width: 520,
    height: 230,
    labels: r.P.map((_, i) => `x${i + 1}`),
    series: [
      { name: 'P', color: COLORS.p, values: r.P },
      { name: 'Q', color: COLORS.q, values: r.Q },
    ],
    onDrag: dragPq,
  });
  const finite = r.terms.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0.01, ...finite);
  const span = niceTicks(lo, hi);
  barChart($('#pq-terms'), {
    width: 360,
    height: 140,
    labels: r.terms.map((_, i) => `x${i + 1}`),
    series: [{ color: COLORS.accent, colors: r.terms.map((t) => (t < 0 ? COLORS.muted : Number.isFinite(t) ? COLORS.accent : COLORS.bad)), values: r.terms }],
    yMin: span[0],
    yMax: span[span.length - 1],
    yTicks: span,
  });
});

function niceTicks(lo, hi) {
  const step = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10].find((s) => (hi - lo) / s <= 5) ?? 20;
  const a = Math.floor(lo / step) * step;
  const b = Math.ceil(hi / step) * step;
  const t = [];
  for (let v = a; v <= b + step / 2; v += step) t.push(Math.round(v / step) * step);
  return t;
}

/** Dragging bar i of P or Q to probability h: the others keep their proportions. */
function dragPq(si, i, h) {
  if (!pq.last) return;
  const key = si === 0 ? 'p' : 'q';
  const cur = si === 0 ? pq.last.P : pq.last.Q;
  h = Math.min(1, Math.max(0, h));
  const rest = 1 - cur[i];
  const n = cur.length;
  const next = cur.map((v, j) => (j === i ? h : rest > 1e-12 ? (v * (1 - h)) / rest : (1 - h) / (n - 1)));
  pq[key] = next.map((v) => Math.round(v * 1e4) / 1e4);
  if (pq[key].every((v) => v === 0)) pq[key][i] = 1;
  pq[key].forEach((v, j) => (pqSliders[key][j].input.value = String(v)));
  pq.last = { ...pq.last, [si === 0 ? 'P' : 'Q']: next };
  updatePq();
}

function buildPqSliders() {
  const box = $('#pq-sliders');
  box.innerHTML = '';
  pqSliders = { p: [], q: [] };
  const head = document.createElement('div');
  head.className = 'pq-row head';
  head.innerHTML = '<span></span><span>P weight → p</span><span>Q weight → q</span>';
  box.appendChild(head);
  pq.p.forEach((_, i) => {
    const row = document.createElement('div');
    row.className = 'pq-row';
    const name = document.createElement('span');
    name.className = 'slider-label';
    name.textContent = `x${i + 1}`;
    row.appendChild(name);
    for (const key of ['p', 'q']) {
      const s = slider({
        testid: `${key}-slider-${i}`,
        min: 0,
        max: 1,
        step: 0.001,
        value: pq[key][i],
        cls: key,
        onInput: (v) => {
          pq[key][i] = v;
          if (pq[key].every((x) => x === 0)) return;
          updatePq();
        },
      });
      pqSliders[key].push(s);
      row.appendChild(s.wrap);
    }
    box.appendChild(row);
  });
}

function setPq(p, q) {
  pq.p = p.slice();
  pq.q = q.slice();
  buildPqSliders();
  updatePq();
}

document.querySelectorAll('input[name="unit"]').forEach((r) =>
  r.addEventListener('change', () => {
    pq.unit = r.value;
    updatePq();
  }),
);
document.querySelectorAll('[data-pq]').forEach((b) =>
  b.addEventListener('click', () => {
    const P = pq.last?.P ?? pq.p;
    const Q = pq.last?.Q ?? pq.q;
    if (b.dataset.pq === 'article') setPq(PQ_ARTICLE.p, PQ_ARTICLE.q);
    else if (b.dataset.pq === 'swap') setPq(Q, P);
    else if (b.dataset.pq === 'same') setPq(P, P);
    else if (b.dataset.pq === 'uniform') setPq(P, P.map(() => 1 / P.length));
  }),
);
$('#pq-add').addEventListener('click', () => {
  if (pq.p.length >= 8) return;
  setPq([...pq.p, 0.1], [...pq.q, 0.1]);
});
$('#pq-remove').addEventListener('click', () => {
  if (pq.p.length <= 2) return;
  const p = pq.p.slice(0, -1);
  const q = pq.q.slice(0, -1);
  if (p.every((v) => v === 0)) p[0] = 1;
  if (q.every((v) => v === 0)) q[0] = 1;
  setPq(p, q);
});
buildPqSliders();

// ---------------------------------------------------------------------------------------
// §6 MNIST
// ---------------------------------------------------------------------------------------

const mnist = { label: 2, q2: 0.75 };
const updateMnist = panel('mnist', () => ({ label: mnist.label, q2: mnist.q2 }), (r) => {
  $('#mnist-q2').textContent = r.q[2].toFixed(2);
  out('mnist-loss', r.loss);
  out('mnist-loss-logits', r.lossFromLogits);
  out('mnist-loss-bits', r.lossBits);
  out('mnist-q5', r.q[5]);
  out('mnist-delta', r.delta);
  barChart($('#mnist-chart'), {
    width: 480,
    height: 190,
    labels: r.q.map((_, i) => String(i)),
    series: [{ color: COLORS.muted, colors: r.q.map((_, i) => (i === r.label ? COLORS.p : COLORS.muted)), values: r.q }],
    highlight: r.label,
    xTitle: 'class (highlighted: the true class)',
  });
});
$('#mnist-class').addEventListener('change', (e) => {
  mnist.label = Number(e.target.value);
  updateMnist();
});
$('#mnist-q2-slider').addEventListener('input', (e) => {
  mnist.q2 = Number(e.target.value);
  updateMnist();
});

// ---------------------------------------------------------------------------------------
// §7 softmax with temperature
// ---------------------------------------------------------------------------------------

const sm = { logits: [2, 1, 0.5, -0.5, -1.5], temperature: 1 };
const logitSliders = [];
const updateSoftmax = panel('softmax', () => ({ logits: sm.logits, temperature: sm.temperature }), (r) => {
  $('#temperature').textContent = sm.temperature.toFixed(2);
  out('softmax-entropy', r.entropy);
  out('softmax-entropy-bits', r.entropyBits);
  out('softmax-entropy-max', r.maxEntropy);
  out('softmax-lse', r.lse);
  barChart($('#logits-chart'), {
    width: 260,
    height: 150,
    labels: sm.logits.map((_, i) => `z${i + 1}`),
    series: [{ color: COLORS.accent, values: sm.logits }],
    yMin: -5,
    yMax: 5,
    yTicks: [-5, 0, 5],
    onDrag: (_, i, v) => {
      v = Math.round(Math.min(5, Math.max(-5, v)) * 10) / 10;
      sm.logits[i] = v;
      logitSliders[i].input.value = String(v);
      logitSliders[i].val.textContent = v.toFixed(1);
      updateSoftmax();
    },
  });
  barChart($('#softmax-chart'), {
    width: 260,
    height: 150,
    labels: r.probs.map((_, i) => `p${i + 1}`),
    series: [{ color: COLORS.p, values: r.probs }],
    yTicks: [0, 0.5, 1],
  });
});
sm.logits.forEach((z, i) => {
  const s = slider({
    testid: `logit-slider-${i}`,
    min: -5,
    max: 5,
    step: 0.1,
    value: z,
    label: `z${i + 1}`,
    onInput: (v) => {
      sm.logits[i] = v;
      s.val.textContent = v.toFixed(1);
      updateSoftmax();
    },
  });
  s.val.textContent = z.toFixed(1);
  logitSliders.push(s);
  $('#logit-sliders').appendChild(s.wrap);
});
$('#temperature-slider').addEventListener('input', (e) => {
  sm.temperature = Number(e.target.value);
  updateSoftmax();
});

// ---------------------------------------------------------------------------------------
// the benchmark, in a second worker so the panels stay live while it runs
// ---------------------------------------------------------------------------------------

let benchWorker = null;
const OPS = ['softmax', 'logSumExp', 'entropy'];
const IMPL = [
  { key: 'naive', name: 'naive JS loop', color: COLORS.muted, dash: '5 4' },
  { key: 'surprisal', name: 'surprisal', color: COLORS.p },
  { key: 'zeroCopy', name: 'surprisal zero-copy', color: COLORS.accent },
];

const fmtTime = (ms) => (ms >= 1 ? `${ms.toFixed(2)} ms` : ms >= 1e-3 ? `${(ms * 1e3).toFixed(1)} µs` : `${(ms * 1e6).toFixed(0)} ns`);
const sup = (n) => `10${String(Math.round(Math.log10(n))).replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[d])}`;

function renderBench(rows, info) {
  const charts = $('#bench-charts');
  if (!charts.children.length) {
    for (const op of OPS) {
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.classList.add('chart');
      svg.dataset.testid = `bench-chart-${op}`;
      charts.appendChild(svg);
    }
  }
  const all = rows.flatMap((r) => IMPL.map((m) => r.elPerNs[m.key])).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const yTicks = [];
  for (let v = lo; v <= hi * 1.001; v *= 10) yTicks.push(v);
  OPS.forEach((op, k) => {
    const mine = rows.filter((r) => r.op === op);
    lineChart(charts.children[k], {
      width: 330,
      height: 230,
      title: op,
      series: IMPL.map((m) => ({ name: k === 0 ? m.name.replace('surprisal ', '') : null, color: m.color, dash: m.dash, dots: true, points: mine.map((r) => [r.n, r.elPerNs[m.key]]) })),
      xLog: true,
      yLog: true,
      xDomain: [700, 1.4e6],
      yDomain: [lo, hi],
      xTicks: [1e3, 1e4, 1e5, 1e6],
      yTicks,
      xFormat: sup,
      yFormat: (v) => (v >= 1e-3 ? String(+v.toPrecision(1)) : v.toExponential(0).replace('e-', 'e−')),
      xTitle: 'n (elements)',
      yTitle: 'elements / ns',
      legend: k === 0,
    });
  });
  const head = `<tr><th>op</th><th>n</th>${IMPL.map((m) => `<th>${m.name}</th>`).join('')}<th>surprisal ÷ naive</th><th>zero-copy ÷ naive</th><th>rel. diff</th></tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr data-op="${r.op}" data-n="${r.n}"><td>${r.op}</td><td>${sup(r.n)}</td>${IMPL.map(
          (m) => `<td data-impl="${m.key}" data-el-per-ns="${r.elPerNs[m.key]}">${fmtTime(r.ms[m.key])} <span class="muted">${r.elPerNs[m.key].toPrecision(2)}/ns</span></td>`,
        ).join('')}<td><b>${(r.ms.naive / r.ms.surprisal).toFixed(1)}×</b></td><td>${(r.ms.naive / r.ms.zeroCopy).toFixed(1)}×</td><td class="muted">${r.relDiff.toExponential(1)}</td></tr>`,
    )
    .join('');
  $('#bench-results').innerHTML =
    (info ? `<p class="small" data-testid="bench-summary">${info}</p>` : '') + `<table class="bench-table"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

$('#bench-run').addEventListener('click', async () => {
  const button = $('#bench-run');
  const status = $('#bench-status');
  const bar = $('#bench-progress');
  button.disabled = true;
  document.body.dataset.benchDone = '0';
  const dtype = $('#bench-dtype').value;
  benchWorker ??= new Compute(showError);
  try {
    const backend = await benchWorker.call('init', { backend: $('#backend-select').value });
    status.textContent = `running on ${backend.backend}…`;
    bar.hidden = false;
    bar.value = 0;
    const rows = [];
    const res = await benchWorker.call('bench', { dtype }, (p) => {
      rows.push(p.row);
      bar.value = p.done / p.total;
      status.textContent = `running on ${backend.backend}… ${p.done}/${p.total}`;
      renderBench(rows);
    });
    const best = res.rows.reduce((a, r) => Math.max(a, r.ms.naive / r.ms.surprisal), 0);
    const info = `${res.dtype}, backend <b>${res.backend}</b>, ${res.seconds.toFixed(1)} s; up to <b>${best.toFixed(1)}×</b> the naive loop. ${navigator.userAgent.replace(/</g, '')}`;
    renderBench(res.rows, info);
    status.textContent = `done in ${res.seconds.toFixed(1)} s`;
    document.body.dataset.benchDone = '1';
  } catch (err) {
    status.textContent = 'failed';
    showError(`benchmark: ${err.message}`);
  } finally {
    button.disabled = false;
    bar.hidden = true;
  }
});

// ---------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------

const updateAll = () => Promise.all([updateCoin(), updateRl(), updatePq(), updateMnist(), updateSoftmax()]);

async function start(choice) {
  const state = $('#worker-state');
  try {
    const { backend } = await compute.call('init', { backend: choice });
    byTestId('backend').textContent = backend;
    document.body.dataset.backend = backend;
    state.textContent = 'worker ready';
    clearError();
  } catch (err) {
    showError(`init: ${err.message}`);
    state.textContent = 'worker failed to start';
  }
  await updateAll();
  document.body.dataset.ready = '1';
}

$('#backend-select').addEventListener('change', async (e) => {
  document.body.dataset.ready = '0';
  await start(e.target.value);
});

start('auto');
