/** Prediction results as CSV (Save as CSV) and as tab-separated text (Copy results). */
import type { PredictionItem } from './contract.ts';

const HEADER = ['file', 'digit', 'confidence', ...Array.from({ length: 10 }, (_, d) => `p${d}`), 'error'];

function row(item: PredictionItem): string[] {
  if (item.ok) {
    return [
      item.name,
      String(item.digit),
      item.confidence.toFixed(4),
      ...item.probabilities.map((p) => p.toFixed(4)),
      '',
    ];
  }
  return [item.name, '', '', ...Array.from({ length: 10 }, () => ''), item.error];
}

/**
 * One CSV field (RFC 4180 quoting). File names come from the user's disk, so a value a
 * spreadsheet could run as a formula (OWASP's list: =, +, -, @, tab or CR first) is prefixed with
 * an apostrophe, numbers-looking ones too ("-1+cmd|..." is a formula). The numbers we write
 * ourselves are never negative, so no real number is touched.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function predictionsToCsv(items: readonly PredictionItem[]): string {
  return [HEADER, ...items.map(row)].map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Tab-separated, one line per file: pastes into a spreadsheet or a chat message. */
export function predictionsToText(items: readonly PredictionItem[]): string {
  const lines = items.map((item) =>
    item.ok
      ? `${item.name}\t${item.digit}\t${(item.confidence * 100).toFixed(1)}%`
      : `${item.name}\terror\t${item.error.replace(/\s+/g, ' ')}`,
  );
  return ['file\tdigit\tconfidence', ...lines].join('\n') + '\n';
}
