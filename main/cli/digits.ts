/**
 * The `digits` command: the seed's three scripts (train, test, app) as one tool, plus export.
 * Every subcommand returns an exit code; user mistakes become one-line messages, never traces.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, formatError } from './errors.ts';

export type Flags = Record<string, string | boolean | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals?: boolean;
  run: (flags: Flags, positionals: string[]) => Promise<number>;
}

/** Each subcommand loads only what it needs (TensorFlow.js and sharp take a while to import). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  train: async () => (await import('./train.ts')).trainCommand,
  test: async () => (await import('./test.ts')).testCommand,
  predict: async () => (await import('./predict.ts')).predictCommand,
  export: async () => (await import('./export.ts')).exportCommand,
  serve: async () => (await import('./serve.ts')).serveCommand,

};

function help(): string {
  return [
    'Digit Studio: train, test and use handwritten-digit recognisers.',
    '',
    'Usage: digits <command> [options]',
    '',
    '  digits train [--preset fast|seed|cnn] [--epochs N | --steps N] [--batch-size N] [--learning-rate X]',
    '               [--limit N] [--data DIR] [--run DIR] [--backend native|wasm|cpu] [--json]',
    '  digits test [--model DIR | --workspace DIR] [--data DIR] [--json]',
    '  digits predict [--model DIR | --workspace DIR] [--number] [--seed-preprocessing] [--json] FILE...',
    '  digits export --run DIR --to DIR [--overwrite]',
    '  digits serve [--port N] [--host H] [--workspace DIR] [--backend native|wasm|cpu] [--open] [--json]',
    '',
    'The workspace (runs and the current model) defaults to the per-user folder the desktop app uses.',
    'Run `digits <command> --help` for the details of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`digits: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    return 2;
  }
  try {
    const command = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`${command.summary}\n\nUsage: ${command.usage}`);
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: command.positionals ?? false, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0]} (usage: ${command.usage})`);
    }
    return await command.run(parsed.values as Flags, parsed.positionals);
  } catch (error) {
    console.error(`digits ${name}: ${formatError(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}
