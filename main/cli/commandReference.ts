/**
 * Keeps the README's command reference in step with the command table:
 * `npx tsx main/cli/commandReference.ts --write` rewrites the part between the markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REFERENCE_END, REFERENCE_START, commandReference } from './commands.ts';

export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** `readme` with its generated command reference replaced by the current one. */
export function withCurrentReference(readme: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${REFERENCE_START} ... ${REFERENCE_END}`);
  return readme.slice(0, start + REFERENCE_START.length) + '\n\n' + commandReference() + '\n\n' + readme.slice(end);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(README, withCurrentReference(readFileSync(README, 'utf8')));
}
