/**
 * The loss curve of a run, thinned by decimation so it stays small however long the run: points
 * are kept only at steps that are multiples of a stride, and the stride doubles (dropping every
 * other kept point) whenever more than `maxPoints` are held. The newest point is always reported
 * so the curve reaches the current step.
 */
export const DEFAULT_MAX_LOSS_POINTS = 2000;

export class LossCurve {
  private kept: [number, number][] = [];
  private latest: [number, number] | null = null;
  private stride = 1;

  constructor(private readonly maxPoints = DEFAULT_MAX_LOSS_POINTS) {
    if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new Error(`maxPoints must be a whole number of 2 or more, not ${maxPoints}`);
  }

  add(step: number, loss: number): void {
    this.latest = [step, loss];
    if (step % this.stride !== 0) return;
    this.kept.push([step, loss]);
    while (this.kept.length > this.maxPoints) {
      this.stride *= 2;
      this.kept = this.kept.filter(([s]) => s % this.stride === 0);
    }
  }

  /** [step, loss] pairs in step order, at most maxPoints + 1. */
  points(): [number, number][] {
    const last = this.kept[this.kept.length - 1];
    if (this.latest && (!last || last[0] !== this.latest[0])) return [...this.kept, this.latest];
    return [...this.kept];
  }
}
