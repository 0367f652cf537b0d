/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS package, as epg-train loads them */
// Test fixture (apps/train/src/plugins.test.ts): 3 × NT-Xent, so every pre-training term triples.
const { ntXent } = require('@epg/ssl');
const tf = require('@tensorflow/tfjs-core');
exports.variant = {
  apiVersion: 1,
  kind: 'pretrain-loss',
  name: 'triple',
  description: '3 × NT-Xent',
  loss: (q, k, tau) => tf.tidy(() => tf.mul(ntXent(q, k, tau), 3)),
};
