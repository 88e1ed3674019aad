/** Number and time formatting shared by the panels. */

/** 0.9834 -> "98.34%" */
export function formatPercent(fraction: number, digits = 2): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '—';
}

/** 3725 -> "1:02:05", 65 -> "1:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 12345 -> "12,345" */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

/** Loss values: 4 significant digits. */
export function formatLoss(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(4) : '—';
}

/** Learning rates: 0.001 -> "1e-3", 0.05 -> "0.05". */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value !== 0 && Math.abs(value) < 0.01) {
    const [mantissa, exponent] = value.toExponential(2).split('e');
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  return String(Number(value.toPrecision(3)));
}

/**
 * Learning-rate axis ticks in one notation: all scientific ("8e-3", "1e-2") when any tick is
 * below 0.01, else all plain; never "0.01" beside "8e-3".
 */
export function formatRateTicks(values: readonly number[]): string[] {
  const small = values.some((v) => v !== 0 && Number.isFinite(v) && Math.abs(v) < 0.01);
  if (!small) return values.map((v) => formatRate(v));
  return values.map((v) => {
    if (!Number.isFinite(v)) return '—';
    if (v === 0) return '0';
    const [mantissa, exponent] = v.toExponential(2).split('e');
    return `${Number(mantissa)}e${Number(exponent)}`;
  });
}

/** An ISO date as a short local date and time. */
export function formatDate(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The top `count` classes of a probability vector, most likely first. */
export function topClasses(probabilities: readonly number[], count = 3): { digit: number; probability: number }[] {
  return probabilities
    .map((probability, digit) => ({ digit, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, count);
}
