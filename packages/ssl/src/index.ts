export { ntXent, l2Normalize, temperaturesFor } from './nt-xent';
export type { NtXentOptions, Temperatures } from './nt-xent';
