// Shared by crash-test.ts and crash-child.ts: the value every element of a section holds at a step.
export const fillFor = (section: 'model' | 'ema' | 'm' | 'v', step: number): number =>
  ({ model: 1, ema: 2, m: 3, v: 4 })[section] * 1000 + step;

/** Floats per tensor so that the four tensors (model, EMA, AdamW m and v) take `mb` MiB. */
export const floatsPerTensor = (mb: number): number => Math.round((mb * 2 ** 20) / 16);
