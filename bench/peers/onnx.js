// onnxruntime-web's wasm execution provider (its CPU kernels, MLAS), float32, one thread.
// ONNX Runtime runs models, not ops: each op is a tiny ONNX graph built here in memory, one
// session per op and shape.  Its tensors are JS arrays that every run copies into the wasm
// heap and every result is copied out of, so "resident" (the ort.Tensor wrappers made once,
// the int64 labels converted once) saves only the wrapping: a run's time includes copying
// its inputs in and its output out, and allocating the output.  Everything of ort-web is
// async (no synchronous session or run exists): prepare() and each run return Promises.
import * as ort from 'onnxruntime-web';
import protobuf from 'protobufjs';

// A fair one-thread peer: no pthread pool, no proxy worker.  SIMD is not a switch: the only
// wasm binary ort-web ships is the SIMD one, and its init throws where SIMD is missing.
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

export async function ready() {
  await (await prepare('softmax', [[new Float32Array(2)]], [2])).dispose(); // loads the wasm
  return { version, simd: true, threads: ort.env.wasm.numThreads > 1 };
}

export const version = ort.env.versions.web;

// The part of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) these graphs use, with its
// field numbers; proto2 like the original, so explicit zeros (keepdims 0) are written.
const ModelProto = protobuf.parse(`syntax = "proto2"; package onnx;
message ModelProto { optional int64 ir_version = 1; optional GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string op_type = 4; repeated AttributeProto attribute = 5; }
message AttributeProto { optional string name = 1; optional float f = 2; optional int64 i = 3; optional bytes s = 4; optional int32 type = 20; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true]; optional string name = 8; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; } repeated Dimension dim = 1; }
`).root.lookupType('onnx.ModelProto');
const FLOAT = 1, INT64 = 7; // TensorProto.DataType
const ATTR = { float: 1, int: 2, string: 3 }; // AttributeProto.AttributeType

// Opset 18 (ONNX 1.13, IR version 8): the first where every Reduce* takes its axes as an input.
const OPSET = 18, IR_VERSION = 8;

/** The model bytes for ops[name] on inputs of the given [dims, dataType]s. */
export function modelOf(name, inputs) {
  const node = [], initializer = [];
  let k = 0;
  const constant = (dataType, dims, values) => {
    initializer.push({ name: `c${k}`, dataType, dims, [dataType === FLOAT ? 'floatData' : 'int64Data']: values });
    return `c${k++}`;
  };
  // Integers are int attributes (no op here takes a whole-valued float attribute).
  const attribute = ([name, v]) => (typeof v === 'string' ? { name, type: ATTR.string, s: new TextEncoder().encode(v) }
    : Number.isInteger(v) ? { name, type: ATTR.int, i: v } : { name, type: ATTR.float, f: v });
  // g.Mul(a, b), g.Softmax(x): a node, its output's name back; g.k(0.5) a scalar.
  const g = new Proxy({ k: (v) => constant(FLOAT, [], [v]), lastAxis: () => constant(INT64, [1], [-1]) }, {
    get: (helpers, opType) => helpers[opType] ?? ((...args) => {
      const attrs = typeof args.at(-1) === 'object' ? args.pop() : {};
      node.push({ opType, input: args, output: [`t${k}`], attribute: Object.entries(attrs).map(attribute) });
      return `t${k++}`;
    }),
  });
  const valueInfo = (name, elemType, dims) =>
    ({ name, type: { tensorType: { elemType, shape: dims && { dim: dims.map((dimValue) => ({ dimValue })) } } } });
  const names = inputs.map((_, i) => `x${i}`);
  const y = ops[name](g, ...names);
  return ModelProto.encode({
    irVersion: IR_VERSION, opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name, node, initializer,
      input: inputs.map(([dims, type], i) => valueInfo(names[i], type, dims)),
      output: [valueInfo(y, FLOAT)], // its shape left to ORT's inference
    },
  }).finish();
}

// ORT's CPU reductions add in float32, in order (bitwise a sequential Math.fround sum, seen at
// n = 10⁶), hence errors of ~1e-4 at 10⁶ elements, as TF.js's.
const sumLast = (g, x) => g.ReduceSum(x, g.lastAxis(), { keepdims: 0 });
// p·log(p/q) with 0 where p = 0 (ONNX's Mul gives NaN for 0·−∞)
const xlogy = (g, p, logq) => g.Mul(p, g.Where(g.Greater(p, g.k(0)), logq, g.k(0)));
const plogpOver = (g, p, q) => sumLast(g, xlogy(g, p, g.Log(g.Div(p, q))));
// max(x, 0) − x·y + log(1 + e^−|x|): BCE with logits without overflow, per element.
const bceWithLogits = (g, x, y) => g.Add(g.Sub(g.Relu(x), g.Mul(x, y)), g.Softplus(g.Neg(g.Abs(x))));
const oneMinus = (g, x) => g.Sub(g.k(1), x);

/** Graphs: ops[name](g, ...inputNames) → output name.  Reductions over the last axis, which
 *  is also (Log)Softmax's default axis from opset 13 on. */
export const ops = {
  entropy: (g, p) => g.Neg(sumLast(g, xlogy(g, p, g.Log(p)))),
  crossEntropy: (g, p, q) => g.Neg(sumLast(g, g.Mul(p, g.Log(q)))),
  klDivergence: (g, p, q) => plogpOver(g, p, q),
  jsDivergence: (g, p, q) => {
    const m = g.Mul(g.Add(p, q), g.k(0.5));
    return g.Mul(g.Add(plogpOver(g, p, m), plogpOver(g, q, m)), g.k(0.5));
  },
  logSumExp: (g, x) => g.ReduceLogSumExp(x, g.lastAxis(), { keepdims: 0 }),
  softmax: (g, x) => g.Softmax(x),
  logSoftmax: (g, x) => g.LogSoftmax(x),
  softmaxEntropy: (g, x) => g.Neg(sumLast(g, g.Mul(g.Softmax(x), g.LogSoftmax(x)))),
  softmaxKlDivergence: (g, a, b) => sumLast(g, g.Mul(g.Softmax(a), g.Sub(g.LogSoftmax(a), g.LogSoftmax(b)))),
  // ONNX's own loss op (ORT has a CPU kernel for it): int64 class labels, mean over rows.
  softmaxCrossEntropy: (g, z, labels) => g.SoftmaxCrossEntropyLoss(z, labels, { reduction: 'mean' }),
  sigmoidCrossEntropy: (g, x, y) => g.ReduceMean(bceWithLogits(g, x, y), { keepdims: 0 }),
  // torchvision.ops.sigmoid_focal_loss, alpha 0.25, gamma 2, mean.
  sigmoidFocalLoss: (g, x, y) => {
    const p = g.Sigmoid(x), notY = oneMinus(g, y);
    const pt = g.Add(g.Mul(p, y), g.Mul(oneMinus(g, p), notY));
    const loss = g.Mul(bceWithLogits(g, x, y), g.Pow(oneMinus(g, pt), g.k(2)));
    const alphaT = g.Add(g.Mul(g.k(0.25), y), g.Mul(g.k(0.75), notY));
    return g.ReduceMean(g.Mul(alphaT, loss), { keepdims: 0 });
  },
};

/**
 * Timed functions for one op on several input sets: `sets[k]` its inputs (Float32Arrays, or
 * `{ onehot: Int32Array }` for class labels), `dims` the float inputs' shape.  One session
 * for all sets.  Resolves to { op: [async fn per set], read(k) → Promise<Float32Array>, dispose }.
 */
export async function prepare(name, sets, dims) {
  const dimsOf = (a) => (a.onehot ? [a.onehot.length] : dims);
  const model = modelOf(name, sets[0].map((a) => [dimsOf(a), a.onehot ? INT64 : FLOAT]));
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const [output] = session.outputNames;
  const feeds = sets.map((inputs) => Object.fromEntries(inputs.map((a, i) => [session.inputNames[i], a.onehot
    ? new ort.Tensor('int64', BigInt64Array.from(a.onehot, BigInt), dimsOf(a))
    : new ort.Tensor('float32', a, dimsOf(a))])));
  const read = async (k) => (await session.run(feeds[k]))[output].data;
  return {
    op: feeds.map((_, k) => async () => {
      const data = await read(k);
      return data[data.length >> 1];
    }),
    read,
    dispose: () => session.release(),
  };
}
