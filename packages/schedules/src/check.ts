/** Argument checks shared by the schedules: one-line messages naming the argument and the function. */

export function checkPositive(value: number, name: string, fn: string): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} passed to ${fn} must be a finite number > 0, got ${value}`);
}

export function checkStep(value: number, fn: string, name = 'step'): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} passed to ${fn} must be a non-negative integer, got ${value}`);
  }
}

export function checkInteger(value: number, min: number, name: string, fn: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} passed to ${fn} must be an integer >= ${min}, got ${value}`);
  }
}
