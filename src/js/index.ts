// The JS twin of every kernel of the table (kernels.ts), by name.
import type { KernelName } from '../kernels.js';
import * as softmax from './softmax.js';
import * as loss from './loss.js';

const missing = (name: string) => () => {
  throw new Error(`surprisal: the JS twin of ${name} is not written yet`);
};

export const TWINS: Record<KernelName, (...a: never[]) => void> = {
  sumRows: missing('sumRows'),
  entropyRows: missing('entropyRows'),
  crossEntropyRows: missing('crossEntropyRows'),
  klDivergenceRows: missing('klDivergenceRows'),
  jsDivergenceRows: missing('jsDivergenceRows'),
  logSumExpRows: softmax.logSumExpRows,
  weightedLogSumExpRows: missing('weightedLogSumExpRows'),
  softmaxRows: softmax.softmaxRows,
  logSoftmaxRows: softmax.logSoftmaxRows,
  softmaxEntropyRows: softmax.softmaxEntropyRows,
  softmaxKlDivergenceRows: softmax.softmaxKlDivergenceRows,
  affineRows: softmax.affineRows,
  softmaxCrossEntropyLabels: loss.softmaxCrossEntropyLabels,
  softmaxCrossEntropyProbs: loss.softmaxCrossEntropyProbs,
  sigmoidCrossEntropyRows: missing('sigmoidCrossEntropyRows'),
  sigmoidFocalLossRows: missing('sigmoidFocalLossRows'),
  marginRows: missing('marginRows'),
  mutualInformationRows: missing('mutualInformationRows'),
  byteHistogram: missing('byteHistogram'),
};
