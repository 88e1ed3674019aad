/**
 * What the training host knows about the current run, apart from its child process: the state and
 * its clock, the request, the trainer's start event, the thinned loss curve, the learning rate
 * where it changed, the epoch results, the latest progress and the error. A reloaded window
 * redraws from its snapshot(); toHistory() is what history.json keeps for a resumed run.
 */
import type { TrainingEvent, TrainingRequest, TrainingSnapshot, TrainingState } from './contract.ts';
import { DEFAULT_MAX_LOSS_POINTS, LossCurve } from '../ml/lossCurve.ts';
import type { RunHistory } from '../ml/runHistory.ts';

type ProgressEvent = Extract<TrainingEvent, { type: 'progress' }>;
type EpochEvent = Extract<TrainingEvent, { type: 'epoch' }>;
type StartEvent = Extract<TrainingEvent, { type: 'start' }>;

export class TrainingRecord {
  state: TrainingState = 'idle';
  runId: string | null = null;
  request: TrainingRequest | null = null;
  error: string | null = null;
  #start: StartEvent | null = null;
  #curve: LossCurve;
  #learningRates: [number, number][] = [];
  #epochs: EpochEvent[] = [];
  #last: ProgressEvent | null = null;
  #runningMs = 0;
  #runningSince: number | null = null;

  /** `now` in milliseconds (injectable for tests); only differences are used. */
  constructor(
    private readonly maxLossPoints = DEFAULT_MAX_LOSS_POINTS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#curve = new LossCurve(maxLossPoints);
  }

  /** Starts recording a run, continuing the history of its earlier sessions when it has one. */
  load(runId: string, request: TrainingRequest, history: RunHistory | null): void {
    this.runId = runId;
    this.request = request;
    this.#start = null;
    this.#curve = new LossCurve(this.maxLossPoints);
    for (const [step, loss] of history?.losses ?? []) this.#curve.add(step, loss);
    this.#epochs = [...(history?.epochs ?? [])];
    this.#learningRates = [...(history?.learningRates ?? [])];
    this.#last = null;
    this.error = null;
    this.#runningMs = 0;
    this.#runningSince = null;
  }

  /** Moves to `next`, counting the time spent running. */
  setState(next: TrainingState): void {
    const now = this.now();
    if (this.state === 'running' && this.#runningSince !== null) {
      this.#runningMs += now - this.#runningSince;
      this.#runningSince = null;
    }
    if (next === 'running') this.#runningSince = now;
    this.state = next;
  }

  /** The trainer (re)started at `event.startStep`: what was recorded after that step is dropped. */
  started(event: StartEvent): void {
    this.#start = event;
    this.truncateTo(event.startStep);
  }

  /** Forgets the curve, rates and epochs after `step` (a resumed run restarts from its checkpoint). */
  truncateTo(step: number): void {
    const kept = this.#curve.points().filter(([s]) => s <= step);
    this.#curve = new LossCurve(this.maxLossPoints);
    for (const [s, loss] of kept) this.#curve.add(s, loss);
    this.#epochs = this.#epochs.filter((e) => e.step <= step);
    this.#learningRates = this.#learningRates.filter(([s]) => s <= step);
  }

  addProgress(event: ProgressEvent): void {
    this.#curve.add(event.step, event.loss);
    if (this.#learningRates.at(-1)?.[1] !== event.learningRate) this.#learningRates.push([event.step, event.learningRate]);
    this.#last = event;
  }

  addEpoch(event: EpochEvent): void {
    this.#epochs.push(event);
  }

  /** Seconds spent running so far (paused time excluded): the one clock every window shows. */
  elapsedSeconds(): number {
    const running = this.state === 'running' && this.#runningSince !== null ? this.now() - this.#runningSince : 0;
    return (this.#runningMs + running) / 1000;
  }

  snapshot(): TrainingSnapshot {
    return {
      state: this.state,
      runId: this.runId,
      request: this.request,
      start: this.#start,
      losses: this.#curve.points(),
      learningRates: [...this.#learningRates],
      epochs: [...this.#epochs],
      last: this.#last,
      elapsedSeconds: this.elapsedSeconds(),
      error: this.error,
    };
  }

  toHistory(): RunHistory {
    return { losses: this.#curve.points(), learningRates: [...this.#learningRates], epochs: [...this.#epochs] };
  }
}
