#!/usr/bin/env node
/**
 * epg-train: parse → resolve the config → (dry run: print it) → check/initialise the run directory →
 * initialise the tfjs backend → run the stages. Every EpgError ends as one line `error: <message>`
 * on stderr and exit code 1; nothing is written before the config and the run directory are checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/Either';
import { epgError, formatReport, initBackend, type EpgError } from '@epg/tensor';
import { runAsProcess, withOneLineErrors } from './cli-shell';
import { parseTrainArgs, USAGE, type TrainArgs } from './args';
import type { RunConfig } from './config';
import { cmShortRun } from '@epg/schedules';
import { pretrainConfig } from '@epg/ssl';
import { resolveVit } from './models';
import { describePlugins, resolvePlugins, type LoadedPlugins } from './plugins';
import { resolveConfig } from './presets';
import { scaffoldVariant } from './scaffold';
import { checkRunDir, defaultRunDir, initRunDir } from './run-dir';
import { checkData, type RunContext, type StageName } from './stages/common';
import { appendHistory, startRecord } from './eval/report';
import { runEvaluate } from './stages/evaluate';
import { runFinetune } from './stages/finetune';
import { runPretrain } from './stages/pretrain';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Set when stdout is a terminal: progress is then a live line rewritten in place. */
  readonly ttyWrite?: (text: string) => void;
}

/** Test hooks (not on the command line). */
export interface CliHooks {
  readonly stopAfter?: RunContext['stopAfter'];
  readonly onStep?: RunContext['onStep'];
  readonly progressMs?: number;
  /** Skip the backend initialisation (tests that already chose one). */
  readonly skipBackend?: boolean;
}

const STDIO: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  ...(process.stdout.isTTY ? { ttyWrite: (t: string) => process.stdout.write(t) } : {}),
};

function readConfigFile(path: string): E.Either<EpgError, unknown> {
  try {
    return E.right(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(
      code
        ? epgError('io', `cannot read config file ${path} (${code})`, 'check the --config path')
        : epgError('format', `config file ${path} is not valid JSON (${(e as Error).message})`, 'fix the file'),
    );
  }
}

export function resolveArgs(args: TrainArgs): E.Either<EpgError, RunConfig> {
  let base: unknown = args.preset ?? 'mnist-quick';
  if (args.configFile !== null) {
    const f = readConfigFile(args.configFile);
    if (E.isLeft(f)) return f;
    base = f.right;
  }
  return resolveConfig({ base, variants: args.variants, plugins: args.plugins, sets: args.sets });
}

/** Where plugin packages are looked up: the current directory, then the config file's directory. */
export function pluginRoots(args: TrainArgs, cwd: string = process.cwd()): string[] {
  return args.configFile !== null ? [cwd, dirname(args.configFile)] : [cwd];
}

/**
 * The stage schedules a config implies, built once before anything is written, so that values the
 * codecs accept but a schedule refuses (e.g. a 1-step pre-training) fail at the start, not mid-run.
 */
export function checkSchedules(config: RunConfig): E.Either<EpgError, void> {
  const attempt = (field: string, f: () => unknown): E.Either<EpgError, void> => {
    try {
      f();
      return E.right(undefined);
    } catch (e) {
      return E.left(epgError('config', `config field ${field} is refused by its schedule (${(e as Error).message})`, 'use a longer run'));
    }
  };
  const p = config.pretrain;
  if (p) {
    const r = attempt('pretrain.steps', () => pretrainConfig(p.variant, { totalSteps: p.steps, ...(p.lr !== null ? { lr: p.lr } : {}) }));
    if (E.isLeft(r)) return r;
  }
  const c = config.consistency;
  return c ? attempt('consistency.steps', () => cmShortRun(c.steps)) : E.right(undefined);
}

/** Runs epg-train; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = STDIO, hooks: CliHooks = {}): Promise<number> {
  return withOneLineErrors(io.err, async () => {
    const parsed = parseTrainArgs(argv);
    if (E.isLeft(parsed)) throw parsed.left;
    const args = parsed.right;
    if (args.help) {
      io.out(USAGE);
      return 0;
    }
    if (args.command === 'scaffold-variant') {
      const r = scaffoldVariant({ ...args.scaffold!, cwd: process.cwd() });
      if (E.isLeft(r)) throw r.left;
      for (const line of r.right) io.out(line);
      return 0;
    }
    const unpinned = resolveArgs(args);
    if (E.isLeft(unpinned)) throw unpinned.left;
    const withPlugins = resolvePlugins(unpinned.right, pluginRoots(args));
    if (E.isLeft(withPlugins)) throw withPlugins.left;
    const config = withPlugins.right.config;
    const plugins: LoadedPlugins = withPlugins.right.plugins;
    const vit = resolveVit(config);
    if (E.isLeft(vit)) throw vit.left;
    if (args.command === 'finetune' && config[args.objective!] === null) {
      throw epgError('config', `finetune --objective ${args.objective}: this config has no ${args.objective} section`, `use a preset with one, or --set ${args.objective}=… `);
    }
    const schedules = checkSchedules(config);
    if (E.isLeft(schedules)) throw schedules.left;
    if (args.dryRun) {
      io.out(JSON.stringify(config, null, 2));
      return 0;
    }
    const data = checkData(config);
    if (E.isLeft(data)) throw data.left;
    const dir = args.runDir ?? defaultRunDir(config);
    const checked = checkRunDir(dir, config, args.resume);
    if (E.isLeft(checked)) throw checked.left;
    if (!hooks.skipBackend) {
      const report = await initBackend({ ...(args.backend ? { force: args.backend } : {}), log: null });
      io.out(formatReport(report));
    }
    if (!args.resume) {
      const init = initRunDir(dir, config);
      if (E.isLeft(init)) throw init.left;
      if (plugins.records.length > 0) {
        try {
          writeFileSync(join(dir, 'plugins.json'), `${JSON.stringify(plugins.records, null, 2)}\n`);
        } catch (e) {
          throw epgError('io', `cannot write ${join(dir, 'plugins.json')} (${(e as Error).message})`, 'check the run directory is writable');
        }
      }
    }
    // <run>/history.jsonl: the command and commit, then stage times. The start record waits for the
    // first write of a stage, so a resume refused while checkpoints are read leaves the directory as it was.
    let recorded = false;
    const recordStart = () => {
      if (!recorded) appendHistory(dir, startRecord(argv));
      recorded = true;
    };
    io.out(`run directory: ${dir}`);
    for (const line of describePlugins(plugins)) io.out(line);
    const ctx: RunContext = { dir, config, vit: vit.right, log: io.out, plugins, onFirstWrite: recordStart, ...(io.ttyWrite ? { ttyWrite: io.ttyWrite } : {}), ...hooks };
    const stages: Array<StageName | 'evaluate'> =
      args.command === 'all' ? ['pretrain', 'consistency', 'diffusion', 'evaluate'] : args.command === 'pretrain' ? ['pretrain'] : [args.objective!];
    for (const s of stages) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      if (s === 'evaluate') {
        recordStart();
        const r = await runEvaluate(ctx);
        io.out(`report: ${r.report}`);
      } else {
        const r = s === 'pretrain' ? await runPretrain(ctx) : await runFinetune(ctx, s);
        if (r === 'stopped') {
          io.out(`${s}: stopped (test hook)`);
          return 0;
        }
      }
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      recordStart();
      appendHistory(dir, { event: 'stage', stage: s, wallSeconds: Number(wall.toFixed(1)), cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), date: new Date().toISOString() });
      io.out(`${s}: finished in ${wall.toFixed(1)}s`);
    }
    return 0;
  });
}

if (require.main === module) runAsProcess((argv) => main(argv));
