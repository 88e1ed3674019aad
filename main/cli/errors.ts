/** Errors of the command line: a usage mistake (exit 2) or any other failure (exit 1), one line each. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The message a user sees. Our own errors carry actionable messages; anything unexpected keeps its
 * message too, and its stack is shown only with DIGITS_DEBUG=1.
 */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (process.env.DIGITS_DEBUG && error.stack) return error.stack;
  return error.message;
}
