/**
 * The Models & runs view's pure parts: sorting and filtering the run list, the settings of
 * compared runs side by side (which rows differ), and their curves on one shared x axis
 * (by step, by epoch or by training time) as uPlot wants them.
 */
import type { RunCurves, RunStatus, RunSummary } from './contract.ts';
import { formatCount, formatDuration, formatPercent } from './format.ts';

export type RunSortKey = 'updatedAt' | 'name' | 'preset' | 'status' | 'step' | 'wallSeconds' | 'bestValidationAccuracy' | 'testAccuracy';

export const RUN_SORT_KEYS: { key: RunSortKey; label: string }[] = [
  { key: 'updatedAt', label: 'Last change' },
  { key: 'name', label: 'Name' },
  { key: 'preset', label: 'Model' },
  { key: 'status', label: 'Status' },
  { key: 'step', label: 'Steps' },
  { key: 'wallSeconds', label: 'Training time' },
  { key: 'bestValidationAccuracy', label: 'Best validation' },
  { key: 'testAccuracy', label: 'Test accuracy' },
];

export interface RunFilter {
  /** Matched against name, note, run id, preset and data, case-insensitively. */
  text: string;
  status: RunStatus | 'all';
  /** Only runs that have a model (usable, exportable). */
  withModel: boolean;
}

export const NO_FILTER: RunFilter = { text: '', status: 'all', withModel: false };

export function filterRuns(runs: readonly RunSummary[], filter: RunFilter): RunSummary[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((run) => {
    if (filter.status !== 'all' && run.status !== filter.status) return false;
    if (filter.withModel && !run.modelDir) return false;
    const haystack = [run.name, run.note, run.runId, run.preset ?? '', run.data.label, run.data.fineTunedFrom ?? ''].join(' ').toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

/** Sorted copy; runs without the value (null) always go last, whichever the direction. */
export function sortRuns(runs: readonly RunSummary[], key: RunSortKey, descending: boolean): RunSummary[] {
  const value = (run: RunSummary): string | number | null => {
    switch (key) {
      case 'name':
        return run.name.toLowerCase();
      case 'preset':
        return run.preset;
      default:
        return run[key];
    }
  };
  return [...runs].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return (descending ? -order : order) || a.runId.localeCompare(b.runId);
  });
}

export interface SettingsRow {
  label: string;
  values: string[];
  /** The compared runs do not all agree on this row. */
  differs: boolean;
}

const orDash = (value: string | null | undefined) => value ?? '—';

/** The held-out part of "My digits" in words: "20% (6 pictures)", "none (no check on my digits)", or a dash without pictures. */
export function describeHeldOut(heldOut: RunSummary['data']['heldOut']): string {
  if (!heldOut) return '—';
  if (heldOut.count === 0 && !heldOut.share) return 'none (no check on my digits)';
  const pictures = `${formatCount(heldOut.count)} ${heldOut.count === 1 ? 'picture' : 'pictures'}`;
  return heldOut.share !== null ? `${Math.round(heldOut.share * 100)}% (${pictures})` : pictures;
}

/** The settings and results of the compared runs, one row per setting, in the user's words. */
export function settingsRows(runs: readonly RunSummary[]): SettingsRow[] {
  const rows: [string, (run: RunSummary) => string][] = [
    ['Model', (r) => orDash(r.preset)],
    ['Data', (r) => (r.data.fineTunedFrom ? `${r.data.label}, fine-tuned from ${r.data.fineTunedFrom}` : r.data.label)],
    ['Training images', (r) => (r.data.trainCount !== null ? formatCount(r.data.trainCount) : '—')],
    ['My digits kept aside to check', (r) => describeHeldOut(r.data.heldOut)],
    ['Batch size', (r) => (r.settings ? formatCount(r.settings.batchSize) : '—')],
    ['Learning rate', (r) => (r.settings ? String(r.settings.learningRate) : '—')],
    ['Length', (r) => (r.settings ? `${formatCount(r.settings.totalSteps)} steps${r.settings.epochs !== null ? ` (${r.settings.epochs} epochs)` : ''}` : '—')],
    ['Seed', (r) => (r.settings ? String(r.settings.seed) : '—')],
    ['Backend', (r) => orDash(r.backend)],
    ['Status', (r) => `${r.status}, step ${formatCount(r.step)} of ${formatCount(r.totalSteps)}`],
    ['Training time', (r) => (r.wallSeconds !== null ? formatDuration(r.wallSeconds) : '—')],
    ['Best validation accuracy', (r) => (r.bestValidationAccuracy !== null ? formatPercent(r.bestValidationAccuracy) : '—')],
    ['Test accuracy', (r) => (r.testAccuracy !== null ? formatPercent(r.testAccuracy) : '—')],
  ];
  return rows.map(([label, of]) => {
    const values = runs.map(of);
    return { label, values, differs: new Set(values).size > 1 };
  });
}

export type CurveAxis = 'step' | 'epoch' | 'time';

/** uPlot's aligned data: x values, then one column per series (null where a series has no point). */
export type AlignedColumns = [number[], ...(number | null)[][]];

/** Training seconds at `step`, interpolated between the recorded [step, seconds] marks. */
export function secondsAt(times: readonly [number, number][], step: number): number | null {
  if (times.length === 0) return null;
  let before: [number, number] = [0, 0];
  for (const mark of times) {
    if (mark[0] >= step) {
      const span = mark[0] - before[0];
      return span <= 0 ? mark[1] : before[1] + ((step - before[0]) / span) * (mark[1] - before[1]);
    }
    before = mark;
  }
  // Past the last mark: extrapolate at the run's average pace.
  const [lastStep, lastSeconds] = times[times.length - 1];
  return lastStep > 0 ? (lastSeconds / lastStep) * step : null;
}

/** The x of a step on the chosen axis, or null when the run lacks what that axis needs. */
function xOf(run: RunSummary | undefined, curves: RunCurves, axis: CurveAxis, step: number): number | null {
  if (axis === 'step') return step;
  if (axis === 'epoch') return run?.settings ? step / run.settings.stepsPerEpoch : null;
  return secondsAt(curves.times, step);
}

/**
 * One chart's data for the compared runs: `metric` 'loss' takes the loss curve, 'validation' the
 * validation accuracy at each epoch end; x on `axis`. One series per run, in the order given.
 */
export function alignCurves(
  runs: readonly RunSummary[],
  curves: readonly RunCurves[],
  metric: 'loss' | 'validation',
  axis: CurveAxis,
): AlignedColumns {
  const perRun = curves.map((c) => {
    const run = runs.find((r) => r.runId === c.runId);
    const points: [number, number][] = metric === 'loss' ? c.losses : c.epochs.map((e) => [e.step, e.validationAccuracy]);
    const map = new Map<number, number>();
    for (const [step, value] of points) {
      const x = xOf(run, c, axis, step);
      if (x !== null && Number.isFinite(x)) map.set(x, value);
    }
    return map;
  });
  const xs = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return [xs, ...perRun.map((m) => xs.map((x) => m.get(x) ?? null))];
}
