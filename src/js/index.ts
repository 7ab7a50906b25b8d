// The JS twin of every kernel of the table (kernels.ts), by name.
import type { KernelName } from '../kernels.js';
import * as softmax from './softmax.js';

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
  softmaxEntropyRows: missing('softmaxEntropyRows'),
  softmaxKlDivergenceRows: missing('softmaxKlDivergenceRows'),
  affineRows: softmax.affineRows,
  softmaxCrossEntropyLabels: missing('softmaxCrossEntropyLabels'),
  softmaxCrossEntropyProbs: missing('softmaxCrossEntropyProbs'),
  sigmoidCrossEntropyRows: missing('sigmoidCrossEntropyRows'),
  sigmoidFocalLossRows: missing('sigmoidFocalLossRows'),
  marginRows: missing('marginRows'),
  mutualInformationRows: missing('mutualInformationRows'),
  byteHistogram: missing('byteHistogram'),
};
