/**
 * The training curves as plain growing arrays, outside Svelte's reactivity: a 50,000-step run adds
 * thousands of points, and proxying each one would cost more than drawing it. Charts subscribe and
 * redraw in batches (see LineChart.svelte); nothing here touches the DOM.
 */
import type { TrainingEvent } from '../lib/contract.ts';

/** uPlot's data layout: x values first, then one array per series, all the same length. */
export type SeriesData = [number[], ...(number | null)[][]];

export interface CurveSource {
  data(): SeriesData;
  subscribe(listener: () => void): () => void;
}

/** TensorBoard-style smoothing: exponential moving average, debiased for the first points. */
export class Smoother {
  #average = 0;
  #count = 0;
  constructor(readonly weight: number) {}

  reset(): void {
    this.#average = 0;
    this.#count = 0;
  }

  next(value: number): number {
    this.#count++;
    this.#average = this.#average * this.weight + (1 - this.weight) * value;
    return this.#average / (1 - this.weight ** this.#count);
  }
}

export const LOSS_SMOOTHING = 0.9;

class Curve implements CurveSource {
  readonly columns: SeriesData;
  readonly #listeners = new Set<() => void>();

  constructor(seriesCount: number) {
    this.columns = [[], ...Array.from({ length: seriesCount }, () => [] as (number | null)[])];
  }

  get length(): number {
    return this.columns[0].length;
  }

  data(): SeriesData {
    return this.columns;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  push(x: number, ...values: (number | null)[]): void {
    this.columns[0].push(x);
    values.forEach((value, i) => (this.columns[i + 1] as (number | null)[]).push(value));
  }

  /** Drops every point with x > `x` (a resumed run restarts from its checkpoint). */
  truncateAfter(x: number): void {
    const xs = this.columns[0];
    let keep = xs.length;
    while (keep > 0 && xs[keep - 1] > x) keep--;
    for (const column of this.columns) column.length = keep;
  }

  clear(): void {
    for (const column of this.columns) column.length = 0;
  }

  notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

export class TrainingCurves {
  /** x = step; series: raw loss, smoothed loss. */
  readonly loss = new Curve(2);
  /** x = step; series: learning rate. */
  readonly learningRate = new Curve(1);
  /** x = epoch; series: validation accuracy (0..1). */
  readonly validation = new Curve(1);
  readonly #smoother = new Smoother(LOSS_SMOOTHING);

  get lossPoints(): number {
    return this.loss.length;
  }

  reset(): void {
    this.loss.clear();
    this.learningRate.clear();
    this.validation.clear();
    this.#smoother.reset();
    this.#notifyAll();
  }

  /** Adds loss points given as [step, loss] pairs (a snapshot), in step order. */
  addLosses(pairs: readonly (readonly [number, number])[]): void {
    for (const [step, loss] of pairs) this.#addLoss(step, loss);
    this.loss.notify();
  }

  addProgress(event: Extract<TrainingEvent, { type: 'progress' }>): void {
    this.#addLoss(event.step, event.loss);
    this.loss.notify();
    const lr = this.learningRate.columns;
    if (lr[0].length === 0 || lr[0][lr[0].length - 1] < event.step) {
      this.learningRate.push(event.step, event.learningRate);
      this.learningRate.notify();
    }
  }

  addEpoch(event: Extract<TrainingEvent, { type: 'epoch' }>): void {
    const xs = this.validation.columns[0];
    if (xs.length > 0 && xs[xs.length - 1] >= event.epoch) this.validation.truncateAfter(event.epoch - 1);
    this.validation.push(event.epoch, event.validationAccuracy);
    this.validation.notify();
  }

  /** Keeps what came before `step`, e.g. when a run resumes from its checkpoint. */
  truncateAfter(step: number, epoch: number): void {
    this.loss.truncateAfter(step);
    this.learningRate.truncateAfter(step);
    this.validation.truncateAfter(epoch);
    this.#smoother.reset();
    // Re-seed the smoother with what is kept so the smoothed line continues without a jump.
    const raw = this.loss.columns[1];
    const smooth = this.loss.columns[2];
    for (let i = 0; i < raw.length; i++) smooth[i] = this.#smoother.next(raw[i] as number);
    this.#notifyAll();
  }

  #addLoss(step: number, loss: number): void {
    const xs = this.loss.columns[0];
    if (xs.length > 0 && xs[xs.length - 1] >= step) return; // a replayed or duplicate point
    this.loss.push(step, loss, Number.isFinite(loss) ? this.#smoother.next(loss) : null);
  }

  #notifyAll(): void {
    this.loss.notify();
    this.learningRate.notify();
    this.validation.notify();
  }
}
