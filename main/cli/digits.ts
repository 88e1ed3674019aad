/**
 * The `digits` command: the seed's three scripts (train, test, app) as one tool, plus export and
 * serve. Every subcommand returns an exit code; user mistakes become one-line messages, never traces.
 * The commands, their flags and their help live in commands.ts.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, commandHelp, overallHelp, parserOptions, usageLine } from './commands.ts';
import { UsageError, formatError } from './errors.ts';
import type { Flags } from './options.ts';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(overallHelp());
    return name ? 0 : 2;
  }
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!spec) {
    console.error(`digits: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(name, spec));
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: parserOptions(spec), allowPositionals: spec.positionals !== undefined, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0]} (usage: ${usageLine(name, spec)})`);
    }
    const command = await spec.load();
    return await command.run(parsed.values as Flags, parsed.positionals);
  } catch (error) {
    console.error(`digits ${name}: ${formatError(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}
