/**
 * A one-line progress bar for a terminal. Hand-written (a dozen lines) rather than a dependency:
 * it only redraws one line with \r, at most a few times a second.
 */
import type { WriteStream } from 'node:tty';

const WIDTH = 24;
const REDRAW_MS = 100;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressBar {
  #last = 0;
  constructor(private readonly out: WriteStream) {}

  update(p: { step: number; epoch: number; loss: number; learningRate: number; samplesPerSecond: number }, total: number, batchSize = 0): void {
    const now = performance.now();
    if (now - this.#last < REDRAW_MS && p.step !== total) return;
    this.#last = now;
    const done = Math.min(1, p.step / total);
    const filled = Math.round(done * WIDTH);
    const stepsPerSecond = batchSize > 0 ? p.samplesPerSecond / batchSize : 0;
    const eta = stepsPerSecond > 0 ? formatDuration((total - p.step) / stepsPerSecond) : '';
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${p.step}/${total} epoch ${p.epoch} ` +
      `loss ${p.loss.toFixed(4)} lr ${p.learningRate.toPrecision(3)} ${Math.round(p.samplesPerSecond)} samples/s` +
      (eta ? ` ETA ${eta}` : '');
    this.out.write(`\r${line.slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
  }

  clear(): void {
    this.out.write('\r\x1b[K');
  }
}
