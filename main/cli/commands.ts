/**
 * The `digits` command table: every subcommand's summary, flags and what `--json` prints. From
 * this one table come `digits --help`, `digits <command> --help`, the option parser's settings and
 * the README's command reference (commands.test.ts checks that the README is up to date;
 * `npx tsx main/cli/commandReference.ts --write` rewrites it).
 *
 * Adding a flag is one line in its command's `flags` (a shared one from FLAGS, or a new literal).
 * Adding a command is one entry here plus its module, which exports a `Command` (options.ts).
 * The implementations load lazily: TensorFlow.js and sharp take a while to import, and help needs
 * neither.
 */
import type { Command } from './options.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** The placeholder shown after a string flag: `N`, `DIR`, `fast|seed|cnn`. */
  value?: string;
  /** Shown without brackets in the usage line. */
  required?: boolean;
  help: string;
}

export interface CommandSpec {
  summary: string;
  flags: Record<string, FlagSpec>;
  /** The positional arguments as shown in the usage line (`FILE...`); none when absent. */
  positionals?: string;
  /** What standard output holds with `--json`. */
  json?: string;
  load: () => Promise<Command>;
}

/** Flags that mean the same in every command that takes them. */
export const FLAGS = {
  backend: {
    type: 'string',
    value: 'native|wasm|cpu',
    help: 'the TensorFlow.js backend (default: native when installed, else wasm); the choice and its reason go to standard error',
  },
  json: { type: 'boolean', help: 'machine-readable JSON on standard output; messages go to standard error' },
  data: { type: 'string', value: 'DIR', help: 'a folder holding the four MNIST IDX files, raw or .gz (default: the embedded MNIST)' },
  model: {
    type: 'string',
    value: 'DIR',
    help: 'the model folder (model.json, weights.bin, metadata.json); default: the current model of the workspace',
  },
  workspace: {
    type: 'string',
    value: 'DIR',
    help: 'where runs and the current model live (default: the per-user folder the desktop app uses)',
  },
} as const satisfies Record<string, FlagSpec>;

export const COMMANDS: Record<string, CommandSpec> = {
  train: {
    summary:
      'Train a model on MNIST (or a folder of IDX files) and/or on labelled pictures (--images DIR, laid out as ' +
      'DIR/<digit>/**/<picture>); --from MODEL_DIR fine-tunes that model. A rerun on the same --run folder resumes.',
    flags: {
      preset: { type: 'string', value: 'fast|seed|cnn', help: 'the model and training recipe (default: fast)' },
      epochs: { type: 'string', value: 'N', help: "the run's total length in epochs (default: the preset's)" },
      steps: { type: 'string', value: 'N', help: "the run's total length in steps; give --steps or --epochs, not both" },
      'batch-size': { type: 'string', value: 'N', help: "images per step (default: the preset's)" },
      'learning-rate': { type: 'string', value: 'X', help: "the starting learning rate (default: the preset's)" },
      limit: { type: 'string', value: 'N', help: 'train on the first N training images only' },
      data: FLAGS.data,
      run: { type: 'string', value: 'DIR', help: 'the run folder for checkpoints, history and the model, written when the run finishes or is stopped (default: runs/PRESET); WORKSPACE/runs/NAME shows it in the app' },
      'checkpoint-every': { type: 'string', value: 'N', help: 'steps between checkpoints (default: 1000; one is always written at the end and on Ctrl-C)' },
      images: {
        type: 'string',
        value: 'DIR',
        help: 'also train on the labelled pictures in DIR/0 .. DIR/9 (subfolders too), preprocessed as for prediction and cached; MNIST is mixed in unless --no-mnist',
      },
      from: {
        type: 'string',
        value: 'DIR',
        help: "fine-tune this model folder (its preset and weights); default schedule: batch 100, learning rate 5e-4, 4 passes over equal parts pictures and MNIST",
      },
      'no-mnist': { type: 'boolean', help: 'train on the pictures alone (MNIST validation is still reported)' },
      holdout: { type: 'string', value: 'F', help: "the share of each digit's pictures never trained on, to measure accuracy on (default: 0.2; 0 allowed)" },
      augment: { type: 'boolean', help: 'add moved, rotated, scaled, thicker and thinner copies of the pictures (off: it did not help when measured)' },
      seed: { type: 'string', value: 'N', help: 'the random seed for initialisation, shuffling and the held-out split (default: 1)' },
      threads: {
        type: 'string',
        value: 'N',
        help: "threads sharing each step's arithmetic on the wasm and cpu backends (default: one per core for runs of 200,000+ images, else 1; 1 for the seed and fast presets, whose fused step is too short to share; native TensorFlow: 1, it has its own); the result equals one thread's up to rounding",
      },
      backend: FLAGS.backend,
      json: FLAGS.json,
    },
    json:
      'one object per line: `start`, `progress` (at most 4 a second), `epoch`, then `done` or `stopped` (Ctrl-C; rerun to resume), both with step, totalSteps, model (the run\'s model folder, written either way, null when no step was trained) and testAccuracy. ' +
      'With --images, first `images` (counts per digit, failed and ignored files) and `pictures` (trained / held out); `epoch` and `done` add `imagesAccuracy` ' +
      '(held-out pictures, absent with --holdout 0); `done` adds the picture counts and, with --from, `before` (the starting model\'s figures)',
    load: async () => (await import('./train.ts')).trainCommand,
  },
  test: {
    summary:
      'Test-set accuracy, loss, confusion matrix and per-class precision/recall of a model folder, on MNIST or on a ' +
      'labelled picture folder (--images DIR).',
    flags: {
      model: FLAGS.model,
      workspace: FLAGS.workspace,
      data: FLAGS.data,
      images: { type: 'string', value: 'DIR', help: 'test on the labelled pictures in DIR/0 .. DIR/9 instead of the MNIST test set' },
      backend: FLAGS.backend,
      json: FLAGS.json,
    },
    json:
      'one object: accuracy, loss, count, confusion, perClass, misclassified (test-set indices); with --images, ' +
      '`mistakes` (file, label, predicted, confidence) instead of misclassified, and `failed` (file, error)',
    load: async () => (await import('./test.ts')).testCommand,
  },
  predict: {
    summary:
      'Read the digit in each image file (PNG, JPEG, WebP, GIF, TIFF, ...); with --number, read each picture as a row ' +
      'of digits ("2026"). Exit code 1 if any file failed.',
    flags: {
      model: FLAGS.model,
      workspace: FLAGS.workspace,
      number: { type: 'boolean', help: 'read a row of digits from each picture, not one digit' },
      'seed-preprocessing': { type: 'boolean', help: "the seed tutorial's plain resize-and-threshold instead of our pipeline" },
      backend: FLAGS.backend,
      json: FLAGS.json,
    },
    positionals: 'FILE...',
    json: 'one array, an object per file: `digit` and `probabilities` (with --number: `number` and `digits`), or `error`',
    load: async () => (await import('./predict.ts')).predictCommand,
  },
  export: {
    summary: "Write a model folder (model.json, weights.bin, metadata.json) from a run's latest checkpoint.",
    flags: {
      run: { type: 'string', value: 'DIR', required: true, help: 'the run folder to export' },
      to: { type: 'string', value: 'DIR', required: true, help: 'the model folder to write' },
      overwrite: { type: 'boolean', help: 'replace a non-empty --to folder' },
      'no-test': { type: 'boolean', help: 'skip measuring test accuracy for the metadata' },
      data: FLAGS.data,
      backend: FLAGS.backend,
      json: FLAGS.json,
    },
    json: 'one object: model, step, testAccuracy (null with --no-test)',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  serve: {
    summary:
      'Serve Digit Studio to a web browser on this machine. Prints the URL to open; it carries an access token that ' +
      'the first page load trades for a browser cookie (and takes out of the address bar). The URL keeps working, in ' +
      'any browser, until the server stops: treat it like a password. A new token is made at every start.',
    flags: {
      port: { type: 'string', value: 'N', help: 'the port to listen on (default: any free port)' },
      host: { type: 'string', value: 'H', help: 'the address to listen on (default: 127.0.0.1, this machine only)' },
      workspace: FLAGS.workspace,
      backend: FLAGS.backend,
      open: { type: 'boolean', help: 'also open the URL in the default browser, where there is a display' },
      json: FLAGS.json,
    },
    json: 'one object `{url}` once listening',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  runs: {
    summary:
      "List the workspace's runs, the app's and those trained with `digits train --run WORKSPACE/runs/NAME`: status, " +
      'steps, training time, backend, best validation and test accuracy; unreadable runs are listed as damaged, with why.',
    flags: { workspace: FLAGS.workspace, json: FLAGS.json },
    json:
      'one array, an object per run: runId, name, note, preset, settings, data, status (running, finished, stopped, ' +
      'interrupted, damaged), problem, step, totalSteps, wallSeconds, backend, bestValidationAccuracy, testAccuracy, ' +
      'createdAt, updatedAt, modelDir, origin, resumable',
    load: async () => (await import('./runs.ts')).runsCommand,
  },
};

/** The settings node:util's parseArgs takes for a command. */
export function parserOptions(spec: CommandSpec): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(Object.entries(spec.flags).map(([name, flag]) => [name, { type: flag.type }]));
}

/** `--preset fast|seed|cnn`, `--json`. */
function flagText(name: string, flag: FlagSpec): string {
  return flag.type === 'string' ? `--${name} ${flag.value ?? 'VALUE'}` : `--${name}`;
}

function flagUsage(name: string, flag: FlagSpec): string {
  return flag.required ? flagText(name, flag) : `[${flagText(name, flag)}]`;
}

/** `digits train [--preset fast|seed|cnn] ... [--json]`. */
export function usageLine(name: string, spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).map(([flagName, flag]) => flagUsage(flagName, flag));
  return ['digits', name, ...flags, ...(spec.positionals ? [spec.positionals] : [])].join(' ');
}

/** `digits <command> --help`. */
export function commandHelp(name: string, spec: CommandSpec): string {
  const entries = Object.entries(spec.flags).map(([flagName, flag]) => [flagText(flagName, flag), flag] as const);
  const width = Math.max(...entries.map(([text]) => text.length));
  const lines = [spec.summary, '', `Usage: ${usageLine(name, spec)}`, '', 'Options:'];
  for (const [text, flag] of entries) lines.push(`  ${text.padEnd(width)}  ${flag.required ? 'required; ' : ''}${flag.help}`);
  if (spec.json) lines.push('', `With --json: ${spec.json}.`);
  return lines.join('\n');
}

/** `digits --help`. */
export function overallHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Digit Studio: train, test and use handwritten-digit recognisers.',
    '',
    'Usage: digits <command> [options]',
    '',
    ...names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    '',
    'The workspace (runs and the current model) defaults to the per-user folder the desktop app uses.',
    'Run `digits <command> --help` for the options of one command.',
  ].join('\n');
}

/** The README's command reference (Markdown). */
export function commandReference(): string {
  const sections = Object.entries(COMMANDS).map(([name, spec]) => {
    const rows = Object.entries(spec.flags).map(([flagName, flag]) => {
      const text = flagText(flagName, flag);
      // A table cell ends at any unescaped |, even inside a code span.
      const cell = (value: string) => value.replaceAll('|', '\\|');
      return `| \`${cell(text)}\` | ${flag.required ? 'required; ' : ''}${cell(flag.help)} |`;
    });
    return [
      `### \`digits ${name}\``,
      '',
      spec.summary,
      '',
      '```sh',
      `npx ${usageLine(name, spec)}`,
      '```',
      '',
      '| option | meaning |',
      '| --- | --- |',
      ...rows,
      ...(spec.json ? ['', `With \`--json\`: ${spec.json}.`] : []),
    ].join('\n');
  });
  return sections.join('\n\n');
}

export const REFERENCE_START = '<!-- digits command reference: generated from main/cli/commands.ts -->';
export const REFERENCE_END = '<!-- end of the digits command reference -->';
