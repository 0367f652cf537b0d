import { readdirSync, readFileSync } from 'node:fs';
import { initBackend, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { buildWorkload } from './workloads';
function threads(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(`${t} ${name}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch { /* gone */ }
  }
  return m;
}
async function main() {
  await initBackend({ force: 'cpu', log: null });
  unregisterNativeKernels(); registerNativeKernels({ threads: 1 });
  for (const name of process.argv.slice(2)) {
    const w = buildWorkload(name);
    w.run(); w.run();
    const a = threads(); const c0 = process.cpuUsage();
    for (let i = 0; i < 3; i++) w.run();
    const u = process.cpuUsage(c0); const b = threads();
    w.dispose();
    console.log(name, 'process CPU ms/step', ((u.user + u.system) / 3000).toFixed(0));
    for (const [k, v] of b) { const d = (v - (a.get(k) ?? 0)) / 3; if (d > 0) console.log('  ', k, d.toFixed(0), 'ms/step'); }
  }
}
void main();
