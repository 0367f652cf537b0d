// The SIGKILL crash test (scripts/crash-test.ts): 50 random kills of a 56 MiB save loop plus a kill
// before every file operation of a save. Several minutes on 2 cores: run by `pnpm test:slow`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

it('50 random SIGKILLs of a 56 MiB save loop and a SIGKILL before each file operation never lose the latest checkpoint', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', '..', 'scripts', 'crash-test.ts'), '--trials', '50', '--mb', '56'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  console.log(out);
  expect(out).toMatch(/; 0 failures/);
}, 40 * 60_000);
