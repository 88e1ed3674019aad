/**
 * Errors from api calls as sentences a user can read: the message only, never a stack trace or
 * the transport's wrapping ("Error invoking remote method 'studio:x': Error: ...").
 */
const FALLBACK = 'Something went wrong, and no reason was given.';

export function errorMessage(error: unknown): string {
  let message: string;
  if (error instanceof Error) message = error.message;
  else if (typeof error === 'string') message = error;
  else if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    message = error.message;
  } else return FALLBACK;

  message = message
    .replace(/^Error invoking remote method '[^']*':\s*/, '')
    .replace(/^(?:[A-Z][A-Za-z]*)?Error:\s*/, '');
  const lines = message
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !/^\s*at\s/.test(line));
  const readable = lines.join('\n').trim();
  return readable === '' ? FALLBACK : readable;
}
