/** `digits runs`: the runs of a workspace, as the app's Models & runs view lists them. */
import path from 'node:path';
import { listRuns, runsDir } from '../ml/runList.ts';
import type { RunSummary } from '../ml/types.ts';
import { printJson, workspaceFlag, type Command } from './options.ts';

const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(2)}%`);

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** One line per run, then the reason of each damaged one. */
function table(runs: RunSummary[]): string {
  const header = ['NAME', 'PRESET', 'DATA', 'STATUS', 'STEPS', 'TIME', 'BACKEND', 'BEST VAL', 'TEST'];
  const rows = runs.map((r) => [
    r.name,
    r.preset ?? '?',
    r.data.fineTunedFrom ? `${r.data.label} (fine-tuned from ${r.data.fineTunedFrom})` : r.data.label,
    r.status + (r.resumable ? ' (resumable)' : ''),
    `${r.step}/${r.totalSteps}`,
    duration(r.wallSeconds),
    r.backend ?? '-',
    percent(r.bestValidationAccuracy),
    percent(r.testAccuracy),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const problems = runs.filter((r) => r.problem).map((r) => `  ${r.runId}: ${r.problem}`);
  return [line(header), ...rows.map(line), ...(problems.length > 0 ? ['', 'Damaged:', ...problems] : [])].join('\n');
}

export const runsCommand: Command = {
  async run(flags) {
    const workspaceDir = workspaceFlag(flags);
    const runs = await listRuns(workspaceDir);
    if (flags.json === true) {
      printJson(runs);
      return 0;
    }
    if (runs.length === 0) {
      console.log(`No runs in ${runsDir(workspaceDir)}. Train one with: digits train --run ${path.join(runsDir(workspaceDir), 'NAME')}`);
      return 0;
    }
    console.log(`${runs.length} run${runs.length === 1 ? '' : 's'} in ${runsDir(workspaceDir)}\n`);
    console.log(table(runs));
    return 0;
  },
};
