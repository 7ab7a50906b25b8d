// The JS twin of every kernel of the table (kernels.ts), by name.
import type { KernelName } from '../kernels.js';
import * as reduce from './reduce.js';
import * as softmax from './softmax.js';
import * as weighted from './weighted.js';
import * as info from './info.js';
import * as sigmoid from './sigmoid.js';
import * as loss from './loss.js';

export const TWINS: Record<KernelName, (...a: never[]) => void> = {
  sumRows: reduce.sumRows,
  entropyRows: reduce.entropyRows,
  crossEntropyRows: reduce.crossEntropyRows,
  klDivergenceRows: reduce.klDivergenceRows,
  jsDivergenceRows: reduce.jsDivergenceRows,
  logSumExpRows: softmax.logSumExpRows,
  weightedLogSumExpRows: weighted.weightedLogSumExpRows,
  softmaxRows: softmax.softmaxRows,
  logSoftmaxRows: softmax.logSoftmaxRows,
  softmaxEntropyRows: softmax.softmaxEntropyRows,
  softmaxKlDivergenceRows: softmax.softmaxKlDivergenceRows,
  affineRows: softmax.affineRows,
  scaleRows: softmax.scaleRows,
  softmaxCrossEntropyLabels: loss.softmaxCrossEntropyLabels,
  softmaxCrossEntropyProbs: loss.softmaxCrossEntropyProbs,
  labelMax: loss.labelMax,
  sigmoidCrossEntropyRows: sigmoid.sigmoidCrossEntropyRows,
  sigmoidFocalLossRows: sigmoid.sigmoidFocalLossRows,
  marginRows: info.marginRows,
  mutualInformationRows: info.mutualInformationRows,
  byteHistogram: info.byteHistogram,
};
