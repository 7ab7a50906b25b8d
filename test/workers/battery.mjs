// One battery of calls of every public function, shared by the main thread and the
// workers of test/concurrency.test.ts so that both compute exactly the same thing.
// Results are plain arrays of numbers (compared bit for bit with Object.is).

/** Runs every function on `inputs` with the package `S`; returns { name: number[] }. */
export function battery(S, inputs) {
  const { p64, q64, p32, q32, x32, y32, x64, y64, labels, probs, cols } = inputs;
  const out = {};
  const put = (name, v) => { out[name] = typeof v === 'number' ? [v] : Array.from(v); };
  put('information', S.information(0.3, { base: 2 }));
  put('entropy64', S.entropy(p64));
  put('entropy32', S.entropy(p32, { base: 2 }));
  put('entropyRows', S.entropy(p64, { cols, validate: false }));
  put('crossEntropy', S.crossEntropy(p64, q64));
  put('klDivergence32', S.klDivergence(p32, q32));
  put('klNormalize', S.klDivergence(p32, q64, { normalize: true }));
  put('jsDivergence', S.jsDivergence(p64, q64, { cols, validate: false }));
  put('logSumExp', S.logSumExp(x32, { cols }));
  put('softmax', S.softmax(x64, { cols }));
  put('logSoftmax', S.logSoftmax(x32, { temperature: 0.7 }));
  put('softmaxEntropy', S.softmaxEntropy(x32, { cols, base: 2 }));
  put('softmaxKlDivergence', S.softmaxKlDivergence(x64, y64, { cols }));
  const grad = new Float32Array(x32.length);
  put('loss', S.softmaxCrossEntropy(x32, labels, { cols, grad, labelSmoothing: 0.1 }));
  put('grad', grad);
  put('lossProbs', S.softmaxCrossEntropy(x64, probs, { cols, reduction: 'none' }));
  // the 0.2 functions
  const hGrad = new Float64Array(x64.length);
  put('softmaxEntropyGrad', S.softmaxEntropy(x64, { cols, grad: hGrad, temperature: 0.5 }));
  put('hGrad', hGrad);
  const gradP = new Float32Array(x32.length), gradQ = new Float32Array(x32.length);
  put('softmaxKlGrads', S.softmaxKlDivergence(x32, y32, { cols, gradP, gradQ }));
  put('gradP', gradP);
  put('gradQ', gradQ);
  const sGrad = new Float32Array(x32.length);
  put('sigmoid', S.sigmoidCrossEntropy(x32, p32.map((v) => Math.min(1, v * cols)), { cols, grad: sGrad, posWeight: 2 }));
  put('sGrad', sGrad);
  put('focal', S.sigmoidFocalLoss(x64, probs, { cols, reduction: 'none' }));
  put('lseWeights', S.logSumExp(x64, { cols, weights: probs }));
  const signed = S.signedLogSumExp(x32, { cols, weights: y32 });
  put('signedValue', signed.value);
  put('signedSign', signed.sign);
  put('mutualInformation', S.mutualInformation(p64, { cols }));
  put('conditionalEntropy', S.conditionalEntropy(q32, { cols, normalize: true }));
  put('byteEntropy', S.byteEntropy(new Uint8Array(x32.buffer, x32.byteOffset, x32.byteLength)));
  const acc = S.createLogSumExp();
  for (let r = 0; r < 4; r++) acc.add(x32.subarray((r * x32.length) / 4, ((r + 1) * x32.length) / 4));
  put('accumulator', acc.value);
  const sharded = S.createSoftmaxCrossEntropy({ cols, labels, labelSmoothing: 0.1 });
  const half = cols / 2;
  const left = new Float64Array(labels.length * half), right = new Float64Array(labels.length * half);
  for (let r = 0; r < labels.length; r++) {
    left.set(x64.subarray(r * cols, r * cols + half), r * half);
    right.set(x64.subarray(r * cols + half, (r + 1) * cols), r * half);
  }
  sharded.add(right, half).add(left, 0);
  put('shardedLoss', sharded.loss);
  // zero-copy: arrays in this thread's own module memory (both sides in it: no arena)
  const a = S.allocate(Float32Array, y32.length), b = S.allocate(Float32Array, y32.length);
  a.array.set(y32);
  S.softmax(a, { out: b, cols });
  put('zeroCopy', b.array);
  put('zeroCopyLse', S.logSumExp(a, { cols }));
  a.free();
  b.free();
  return out;
}

/** Deterministic inputs (mulberry32), the same in every thread for a seed. */
export function makeInputs(seed, rows = 64, cols = 100) {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = rows * cols;
  const dist = (T) => { const a = new T(n); let sum = 0; for (let i = 0; i < n; i++) sum += a[i] = -Math.log(1 - random()); for (let i = 0; i < n; i++) a[i] /= sum; return a; };
  const logits = (T) => T.from({ length: n }, () => 3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const probs = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += probs[r * cols + c] = random();
    for (let c = 0; c < cols; c++) probs[r * cols + c] /= sum;
  }
  return {
    p64: dist(Float64Array), q64: dist(Float64Array), p32: dist(Float32Array), q32: dist(Float32Array),
    x32: logits(Float32Array), y32: logits(Float32Array), x64: logits(Float64Array), y64: logits(Float64Array),
    labels: Int32Array.from({ length: rows }, () => Math.floor(random() * cols)), probs, cols,
  };
}
