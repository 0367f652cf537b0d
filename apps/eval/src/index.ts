export { main } from './cli';
export type { CliIo, CliHooks } from './cli';
export { parseEvalArgs, USAGE } from './args';
export type { EvalArgs, Command } from './args';
