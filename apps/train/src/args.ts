/**
 * Command-line arguments of epg-train, parsed into a request without touching any file.
 *
 *   epg-train <command> [--preset NAME | --config FILE] [--variant NAME]... [--set key=value]...
 *             [--plugin PACKAGE]... [--run DIR] [--resume] [--dry-run] [--backend NAME]
 *   commands: all | pretrain | finetune --objective diffusion|consistency
 *   epg-train scaffold-variant <package name> --kind KIND [--dir DIR]
 */
import * as E from 'fp-ts/Either';
import { VARIANT_KINDS, type VariantKind } from '@epg/contracts';
import { epgError, type EpgError } from '@epg/tensor';
import { parseCommandLine } from './cli-shell';

export type Command = 'all' | 'pretrain' | 'finetune' | 'scaffold-variant';

export interface TrainArgs {
  readonly command: Command;
  readonly objective: 'diffusion' | 'consistency' | null;
  readonly preset: string | null;
  readonly configFile: string | null;
  readonly variants: readonly string[];
  readonly plugins: readonly string[];
  readonly sets: readonly string[];
  readonly runDir: string | null;
  readonly resume: boolean;
  readonly dryRun: boolean;
  readonly backend: string | null;
  readonly help: boolean;
  /** scaffold-variant only. */
  readonly scaffold: { readonly name: string; readonly kind: VariantKind; readonly dir: string | null } | null;
}

export const USAGE = `usage: epg-train <command> [options]

commands:
  all                       pre-train, fine-tune (consistency and diffusion), sample, score, report
  pretrain                  stage 1 only: EPG pre-training of the encoder
  finetune --objective O    stage 2 only (O = diffusion | consistency), from the run's pre-training
  scaffold-variant PACKAGE --kind K [--dir DIR]
                            write a code-variant package (K = ${VARIANT_KINDS.join(' | ')}); docs/variants.md

options:
  --preset NAME             a named config (default mnist-quick); see docs/apps.md in the repository
  --config FILE             a JSON config instead of a preset
  --variant NAME            apply a named variant (repeatable): scratch, rrcm, mocov3, constant-tau,
                            contrastive-only, consistency-only, no-aux-loss
  --plugin PACKAGE          use a code-variant package (repeatable; installed where you run epg-train
                            or next to --config), e.g. --plugin @me/epg-variant-l1
  --set key=value           edit one field (repeatable), e.g. --set pretrain.steps=200
  --run DIR                 run directory (default runs/<preset>[+variants]-s<seed>)
  --resume                  continue the run in --run exactly where its last checkpoint stopped
  --dry-run                 print the resolved config and exit
  --backend NAME            force a tfjs backend (cpu, wasm, node, node-gpu)
`;

export function parseTrainArgs(argv: readonly string[]): E.Either<EpgError, TrainArgs> {
  const line = parseCommandLine(argv, 'epg-train', {
    objective: { type: 'string' },
    preset: { type: 'string' },
    config: { type: 'string' },
    variant: { type: 'string', multiple: true },
    plugin: { type: 'string', multiple: true },
    kind: { type: 'string' },
    dir: { type: 'string' },
    set: { type: 'string', multiple: true },
    run: { type: 'string' },
    resume: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (E.isLeft(line)) return line;
  const parsed = line.right;
  const v = parsed.values;
  const help = Boolean(v.help);
  const [command, ...extra] = parsed.positionals;
  if (help) {
    return E.right({ command: 'all', objective: null, preset: null, configFile: null, variants: [], plugins: [], sets: [], runDir: null, resume: false, dryRun: false, backend: null, help, scaffold: null });
  }
  if (command === 'scaffold-variant') return scaffoldArgs(extra, v);
  if (!command || !['all', 'pretrain', 'finetune'].includes(command)) {
    return E.left(epgError('config', command ? `unknown command '${command}'` : 'no command given', 'use epg-train all | pretrain | finetune --objective diffusion|consistency | scaffold-variant'));
  }
  for (const o of ['kind', 'dir'] as const) {
    if (v[o] !== undefined) return E.left(epgError('config', `--${o} applies to scaffold-variant only, not '${command}'`));
  }
  if (extra.length > 0) return E.left(epgError('config', `unexpected argument '${extra[0]}'`, 'options start with --; see epg-train --help'));
  let objective: TrainArgs['objective'] = null;
  if (command === 'finetune') {
    if (v.objective !== 'diffusion' && v.objective !== 'consistency') {
      return E.left(epgError('config', `finetune needs --objective diffusion or --objective consistency${v.objective ? `, got '${v.objective}'` : ''}`));
    }
    objective = v.objective;
  } else if (v.objective !== undefined) {
    return E.left(epgError('config', `--objective applies to finetune only, not '${command}'`));
  }
  if (v.preset !== undefined && v.config !== undefined) {
    return E.left(epgError('config', '--preset and --config both given', 'choose one: a named preset or a JSON config file'));
  }
  if (v.resume && !v.run) return E.left(epgError('config', '--resume needs --run DIR', 'name the run directory to continue'));
  return E.right({
    command: command as Command,
    objective,
    preset: v.preset ?? null,
    configFile: v.config ?? null,
    variants: v.variant ?? [],
    plugins: v.plugin ?? [],
    sets: v.set ?? [],
    runDir: v.run ?? null,
    resume: Boolean(v.resume),
    dryRun: Boolean(v['dry-run']),
    backend: v.backend ?? null,
    help,
    scaffold: null,
  });
}

/** `scaffold-variant <package> --kind K [--dir DIR]`: only these options. */
function scaffoldArgs(positionals: readonly string[], v: Record<string, unknown>): E.Either<EpgError, TrainArgs> {
  const [name, ...extra] = positionals;
  if (!name) return E.left(epgError('config', 'scaffold-variant needs a package name', 'write e.g. epg-train scaffold-variant @me/epg-variant-l1 --kind cm-distance'));
  if (extra.length > 0) return E.left(epgError('config', `unexpected argument '${extra[0]}'`, 'scaffold-variant takes one package name'));
  const kind = v.kind;
  if (typeof kind !== 'string' || !(VARIANT_KINDS as readonly string[]).includes(kind)) {
    return E.left(epgError('config', `scaffold-variant needs --kind ${VARIANT_KINDS.join(' | ')}${kind === undefined ? '' : `, got '${String(kind)}'`}`));
  }
  const other = Object.keys(v).find((k) => k !== 'kind' && k !== 'dir' && v[k] !== undefined);
  if (other) return E.left(epgError('config', `--${other} does not apply to scaffold-variant`, 'it takes --kind and --dir'));
  const base = { objective: null, preset: null, configFile: null, variants: [], plugins: [], sets: [], runDir: null, resume: false, dryRun: false, backend: null, help: false };
  return E.right({ ...base, command: 'scaffold-variant', scaffold: { name, kind: kind as VariantKind, dir: typeof v.dir === 'string' ? v.dir : null } });
}
