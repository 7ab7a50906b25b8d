// The worked numbers of the seed article (../shared/seed, summarised in README's
// "The article, reproduced"), on every backend.  Expected values are exact to the
// digits shown, computed with mpmath at 30 digits; the article's rounded figures
// are in the comments.
import { expect, it } from 'vitest';
import { crossEntropy, entropy, information, klDivergence, softmax, softmaxCrossEntropy, softmaxEntropy } from '../src/index.js';
import { expectClose, onEachBackend } from './helpers.js';

const MNIST_Q = [0.01, 0.02, 0.75, 0.05, 0.02, 0.1, 0.001, 0.02, 0.009, 0.02];
const MNIST_P = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];

onEachBackend('the seed article', () => {
  it('1. information of a biased coin, in bits', () => {
    expectClose(information(0.99, { base: 2 }), 0.014499569695115089577, 'f64'); // article: 0.0144
    expectClose(information(0.01, { base: 2 }), 6.6438561897747246657, 'f64'); // article: 6.64
  });

  it('2. entropy of the biased coin and of a fair coin, in bits', () => {
    expectClose(entropy([0.99, 0.01], { base: 2 }), 0.080793135895911186592, 'f64'); // article: 0.08
    expect(entropy([0.5, 0.5], { base: 2 })).toBe(1); // article: 1 bit
  });

  it('3. negative entropy of two RL policies, in bits', () => {
    expectClose(-entropy([0.9, 0.05, 0.025, 0.025], { base: 2 }), -0.61899559358928121135, 'f64'); // article: -0.61
    expectClose(-entropy([0.3, 0.2, 0.25, 0.25], { base: 2 }), -1.985475297227334326, 'f64'); // article: -1.98
    // the flatter policy lowers the loss
    expect(-entropy([0.3, 0.2, 0.25, 0.25])).toBeLessThan(-entropy([0.9, 0.05, 0.025, 0.025]));
  });

  it('3b. the same bonus from the policy logits, without materialising the softmax', () => {
    const logits = [0.9, 0.05, 0.025, 0.025].map(Math.log);
    expectClose(-softmaxEntropy(logits, { base: 2 }), -0.61899559358928121135, 'f64');
  });

  it('4. H(p, q) = H(p) + D(p‖q), so minimising cross-entropy minimises KL', () => {
    const p = [0.9, 0.05, 0.025, 0.025];
    const q = [0.3, 0.2, 0.25, 0.25];
    expectClose(crossEntropy(p, q), 1.2333621375710420086, 'f64');
    expectClose(entropy(p), 0.42905505047544002906, 'f64');
    expectClose(klDivergence(p, q), 0.80430708709560197956, 'f64');
    expectClose(entropy(p) + klDivergence(p, q), crossEntropy(p, q), 'f64');
  });

  it('5. KL is not symmetric', () => {
    const p = [0.9, 0.05, 0.025, 0.025];
    const q = [0.3, 0.2, 0.25, 0.25];
    expectClose(klDivergence(q, p), 1.0989677321205680397, 'f64');
    expect(klDivergence(p, q)).not.toBeCloseTo(klDivergence(q, p), 3);
  });

  it('6. MNIST digit "2": cross-entropy with a one-hot target is −ln q₂, in nats', () => {
    expectClose(crossEntropy(MNIST_P, MNIST_Q), 0.28768207245178092744, 'f64'); // article: 0.287
    expectClose(klDivergence(MNIST_P, MNIST_Q), 0.28768207245178092744, 'f64'); // H(one-hot) = 0
    // the same loss from logits and an integer label
    expectClose(softmaxCrossEntropy(MNIST_Q.map(Math.log), [2], { cols: 10 }), 0.28768207245178092744, 'f64');
  });

  it('7. softmax couples the outputs: raising the true class lowers every other', () => {
    const logits = MNIST_Q.map(Math.log);
    const before = softmax(logits);
    logits[2] += 1;
    const after = softmax(logits);
    expect(after[2]).toBeGreaterThan(before[2]);
    for (let i = 0; i < 10; i++) if (i !== 2) expect(after[i]).toBeLessThan(before[i]);
    expectClose(after.reduce((a, b) => a + b, 0), 1, 'f64');
  });
});
