/**
 * A run's history, `<run>/history.json`: the thinned loss curve, the learning rate where it
 * changed, the epoch results, and the training time. The train panel redraws a resumed run from
 * it; the Models & runs view compares runs by it. Whoever trains the run (the training worker or
 * `digits train`) writes it through a RunRecorder, so runs from the app and from the command line
 * carry the same history.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomically } from './atomicFolder.ts';
import { DEFAULT_MAX_LOSS_POINTS, LossCurve } from './lossCurve.ts';
import type { TrainingEvent } from './types.ts';

export const HISTORY_FILE = 'history.json';

type EpochEvent = Extract<TrainingEvent, { type: 'epoch' }>;

export interface RunHistory {
  /** [step, loss] pairs, thinned (see LossCurve). */
  losses: [number, number][];
  /** The learning rate where it changed: [step, rate]. Absent in files written before it was recorded. */
  learningRates?: [number, number][];
  epochs: EpochEvent[];
  /**
   * Training seconds (pauses excluded, all sessions of the run together) at some steps:
   * [step, seconds], at every epoch end and where a session ended. Absent in older files.
   */
  times?: [number, number][];
  /** Training seconds up to the last recorded step. */
  seconds?: number;
  /** The backend the run last trained on. */
  backend?: string;
}

export async function writeHistory(runDir: string, history: RunHistory): Promise<void> {
  await writeJsonAtomically(path.join(runDir, HISTORY_FILE), history);
}

/** A well-formed history, or null when the file is missing or not one (never throws). */
export async function readHistory(runDir: string): Promise<RunHistory | null> {
  try {
    const history = JSON.parse(await fs.readFile(path.join(runDir, HISTORY_FILE), 'utf8')) as RunHistory;
    return history && Array.isArray(history.losses) && Array.isArray(history.epochs) ? history : null;
  } catch {
    return null;
  }
}

/** The best validation accuracy of a history's epochs, or null when none was measured. */
export function bestValidationAccuracy(epochs: readonly { validationAccuracy: number }[]): number | null {
  let best: number | null = null;
  for (const { validationAccuracy } of epochs) if (best === null || validationAccuracy > best) best = validationAccuracy;
  return best;
}

/**
 * Keeps a run's history while it trains and writes it at every epoch end and when the session
 * ends. Feed it every trainer event (`record`); time spent paused is excluded (`excludePause`).
 */
export class RunRecorder {
  readonly runDir: string;
  #curve: LossCurve;
  #learningRates: [number, number][];
  #epochs: EpochEvent[];
  #times: [number, number][];
  #secondsBefore: number;
  #sessionStart: number;
  #paused = 0;
  #backend: string | undefined;
  #writes: Promise<void> = Promise.resolve();
  readonly #now: () => number;
  readonly #maxPoints: number;

  constructor(runDir: string, previous: RunHistory | null, options: { backend?: string; maxPoints?: number; now?: () => number } = {}) {
    this.runDir = runDir;
    this.#now = options.now ?? (() => performance.now());
    this.#maxPoints = options.maxPoints ?? DEFAULT_MAX_LOSS_POINTS;
    this.#backend = options.backend ?? previous?.backend;
    this.#curve = new LossCurve(this.#maxPoints);
    for (const [step, loss] of previous?.losses ?? []) this.#curve.add(step, loss);
    this.#learningRates = [...(previous?.learningRates ?? [])];
    this.#epochs = [...(previous?.epochs ?? [])];
    this.#times = [...(previous?.times ?? [])];
    this.#secondsBefore = previous?.seconds ?? 0;
    this.#sessionStart = this.#now();
  }

  /** A recorder continuing the history already in `runDir` (if any). */
  static async open(runDir: string, options: { backend?: string; maxPoints?: number; now?: () => number } = {}): Promise<RunRecorder> {
    return new RunRecorder(runDir, await readHistory(runDir), options);
  }

  record(event: TrainingEvent): void {
    switch (event.type) {
      case 'start':
        this.#restartAt(event.startStep);
        return;
      case 'progress':
        this.#curve.add(event.step, event.loss);
        if (this.#learningRates.at(-1)?.[1] !== event.learningRate) this.#learningRates.push([event.step, event.learningRate]);
        return;
      case 'epoch':
        this.#epochs = [...this.#epochs.filter((e) => e.epoch < event.epoch), event];
        this.#mark(event.step);
        void this.save();
        return;
      case 'checkpoint':
        return;
    }
  }

  /** Time the run spent waiting (paused) that is not training time. */
  excludePause(ms: number): void {
    this.#paused += Math.max(0, ms);
  }

  /** Training seconds so far, all sessions together. */
  get seconds(): number {
    return this.#secondsBefore + Math.max(0, this.#now() - this.#sessionStart - this.#paused) / 1000;
  }

  get bestValidationAccuracy(): number | null {
    return bestValidationAccuracy(this.#epochs);
  }

  history(): RunHistory {
    return {
      losses: this.#curve.points(),
      learningRates: [...this.#learningRates],
      epochs: [...this.#epochs],
      times: [...this.#times],
      seconds: this.seconds,
      ...(this.#backend ? { backend: this.#backend } : {}),
    };
  }

  /** Marks the end of this session at `step` and writes the history. */
  async finish(step: number): Promise<void> {
    this.#mark(step);
    await this.save();
  }

  /** Writes the history now; writes never overlap, and a failed write is not fatal (the history only redraws curves). */
  save(): Promise<void> {
    const snapshot = this.history();
    this.#writes = this.#writes.then(() => writeHistory(this.runDir, snapshot).catch(() => undefined));
    return this.#writes;
  }

  #mark(step: number): void {
    const seconds = this.seconds;
    this.#times = [...this.#times.filter(([s]) => s < step), [step, seconds]];
  }

  /** A (re)started session continues from the checkpoint at `startStep`: later points are dropped. */
  #restartAt(startStep: number): void {
    const kept = this.#curve.points().filter(([step]) => step <= startStep);
    this.#curve = new LossCurve(this.#maxPoints);
    for (const [step, loss] of kept) this.#curve.add(step, loss);
    this.#learningRates = this.#learningRates.filter(([step]) => step <= startStep);
    this.#epochs = this.#epochs.filter((e) => e.step <= startStep);
    this.#times = this.#times.filter(([step]) => step <= startStep);
    this.#secondsBefore = startStep === 0 ? 0 : (this.#times.at(-1)?.[1] ?? 0);
    this.#sessionStart = this.#now();
    this.#paused = 0;
  }
}
