// Each test file runs on the tfjs backend named by EPG_BACKEND (default cpu). This package cannot use
// @epg/tensor's jest setup: @epg/tensor depends on this package, and a dev dependency back would be a cycle.
// The umbrella package registers tfjs's gradients (tfjs-core's CommonJS build ships none).
require('@tensorflow/tfjs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
require('@tensorflow/tfjs-backend-wasm');

beforeAll(async () => {
  const name = process.env.EPG_BACKEND || 'cpu';
  if (!(await tf.setBackend(name))) throw new Error(`jest setup: tfjs backend '${name}' failed to initialise`);
  await tf.ready();
  // The cpu backend nags once about tfjs-node; mark it used (private field of tfjs-backend-cpu 4.x).
  const b = tf.engine().backend;
  if (name === 'cpu' && b && 'firstUse' in b) b.firstUse = false;
});
