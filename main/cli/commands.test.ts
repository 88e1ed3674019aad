import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS, commandHelp, overallHelp, parserOptions, usageLine } from './commands.ts';
import { README, withCurrentReference } from './commandReference.ts';
import { main } from './digits.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

async function printed(argv: string[]): Promise<{ code: number; text: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const code = await main(argv);
  const text = log.mock.calls.map((call) => call.join(' ')).join('\n');
  log.mockRestore();
  return { code, text };
}

/** The flags a command's module reads, found in its source. */
function flagsReadBy(name: string): Set<string> {
  const source = readFileSync(new URL(`./${name}.ts`, import.meta.url), 'utf8');
  const read = new Set<string>();
  for (const m of source.matchAll(/(?:stringFlag|intFlag|numberFlag|requiredString)\(flags, '([\w-]+)'/g)) read.add(m[1]);
  for (const m of source.matchAll(/flags\.([\w]+)|flags\['([\w-]+)'\]/g)) read.add(m[1] ?? m[2]);
  if (/openBackend\(flags\)/.test(source)) read.add('backend');
  if (/openData\(flags\)/.test(source)) read.add('data');
  if (/modelDirFlag\(flags\)/.test(source)) ['model', 'workspace'].forEach((flag) => read.add(flag));
  if (/workspaceFlag\(flags\)/.test(source)) read.add('workspace');
  return read;
}

describe('the command table', () => {
  it('is what the README says (regenerate with `npx tsx main/cli/commandReference.ts --write`)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withCurrentReference(readme)).toBe(readme);
    for (const [name, spec] of Object.entries(COMMANDS)) {
      expect(readme).toContain(`npx ${usageLine(name, spec)}`);
      for (const flag of Object.keys(spec.flags)) expect(readme).toContain(`\`--${flag}`);
    }
  });

  it('is what `digits --help` and each `digits <command> --help` print, every flag included', async () => {
    const overall = await printed(['--help']);
    expect(overall.code).toBe(0);
    expect(overall.text).toBe(overallHelp());
    for (const [name, spec] of Object.entries(COMMANDS)) {
      expect(overall.text).toContain(`  ${name}`);
      const help = await printed([name, '--help']);
      expect(help.code).toBe(0);
      expect(help.text).toBe(commandHelp(name, spec));
      for (const [flag, { help: text }] of Object.entries(spec.flags)) {
        expect(help.text).toContain(`--${flag}`);
        expect(help.text).toContain(text);
      }
    }
  });

  it('declares exactly the flags each command reads', () => {
    for (const [name, spec] of Object.entries(COMMANDS)) {
      expect([...flagsReadBy(name)].sort(), name).toEqual(Object.keys(spec.flags).sort());
    }
  });

  it('gives the parser one setting per flag, of the declared type', () => {
    expect(parserOptions(COMMANDS.export)).toMatchObject({ run: { type: 'string' }, overwrite: { type: 'boolean' } });
    expect(usageLine('export', COMMANDS.export)).toMatch(/^digits export --run DIR --to DIR \[--overwrite\] /);
  });

  it('refuses an unknown flag with the usage line, before loading the command', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const load = vi.spyOn(COMMANDS.train, 'load');
    expect(await main(['train', '--wings'])).toBe(2);
    expect(load).not.toHaveBeenCalled();
    expect(error.mock.calls[0][0]).toContain(`(usage: ${usageLine('train', COMMANDS.train)})`);
  });
});
