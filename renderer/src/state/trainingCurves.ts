/**
 * The training curves as plain growing arrays, outside Svelte's reactivity: a 50,000-step run adds
 * thousands of points, and proxying each one would cost more than drawing it. Charts subscribe and
 * redraw in batches (see LineChart.svelte); nothing here touches the DOM.
 */
import type { TrainingEvent } from '../lib/contract.ts';

/** uPlot's data layout: x values first, then one array per series, all the same length. */
export type SeriesData = [number[], ...(number | null)[][]];

export interface CurveSource {
  /** How many points the curve holds. */
  readonly length: number;
  /** What to draw: every point, or for long curves a reduction that keeps the outline (see `downsample`). */
  data(): SeriesData;
  subscribe(listener: () => void): () => void;
}

/**
 * Past this many points a curve is drawn reduced: a chart is about a thousand pixels wide, and
 * drawing 50,000 points per redraw costs tens of milliseconds on a software canvas.
 */
export const MAX_DRAWN_POINTS = 4000;

/**
 * Keeps, in each of `buckets` consecutive slices, the points holding the lowest and the highest
 * value of the first series (in x order), so spikes and the noise band survive. Other series are
 * taken at the same points.
 */
export function downsample(columns: SeriesData, buckets: number): SeriesData {
  const n = columns[0].length;
  const series = columns[1];
  const picked: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    if (end <= start) continue;
    let low = start;
    let high = start;
    for (let i = start + 1; i < end; i++) {
      const value = series[i];
      if (value === null) continue;
      if (series[low] === null || value < (series[low] as number)) low = i;
      if (series[high] === null || value > (series[high] as number)) high = i;
    }
    if (low === high) picked.push(low);
    else picked.push(Math.min(low, high), Math.max(low, high));
  }
  return columns.map((column) => picked.map((i) => column[i])) as SeriesData;
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
    return this.length > MAX_DRAWN_POINTS ? downsample(this.columns, MAX_DRAWN_POINTS / 2) : this.columns;
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

/** The first `keep` series of a curve: validation without the "My digits" line, for a run that has none. */
class FirstSeries implements CurveSource {
  readonly #curve: Curve;
  readonly #keep: number;

  constructor(curve: Curve, keep: number) {
    this.#curve = curve;
    this.#keep = keep;
  }

  get length(): number {
    return this.#curve.length;
  }

  data(): SeriesData {
    return this.#curve.data().slice(0, this.#keep + 1) as SeriesData;
  }

  subscribe(listener: () => void): () => void {
    return this.#curve.subscribe(listener);
  }
}

export class TrainingCurves {
  /** x = step; series: raw loss, smoothed loss. */
  readonly loss = new Curve(2);
  /** x = step; series: learning rate. */
  readonly learningRate = new Curve(1);
  /** x = epoch; series: MNIST validation accuracy and held-out "My digits" accuracy (0..1; null when the run has none). */
  readonly validation = new Curve(2);
  /** The same points with MNIST validation only (a run without held-out pictures). */
  readonly mnistValidation: CurveSource = new FirstSeries(this.validation, 1);
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

  /**
   * Adds the learning rate where it changed ([step, rate] pairs, a snapshot), drawn as steps:
   * each rate holds until the step before the next change.
   */
  addLearningRates(changes: readonly (readonly [number, number])[]): void {
    changes.forEach(([step, rate], i) => {
      if (i > 0 && step - 1 > changes[i - 1][0]) this.learningRate.push(step - 1, changes[i - 1][1]);
      this.learningRate.push(step, rate);
    });
    this.learningRate.notify();
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
    this.validation.push(event.epoch, event.validationAccuracy, event.imagesAccuracy ?? null);
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
