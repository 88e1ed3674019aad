/**
 * A failed prediction card's sentence: what is wrong with the picture and what to do, in the
 * user's words. The card already shows the file name, so it is not repeated; libvips' own
 * wording ("VipsJpeg: premature end of JPEG image") stays available as the detail.
 */
import type { PredictionItem } from './contract.ts';

type Failure = Extract<PredictionItem, { ok: false }>;

export interface PictureErrorText {
  /** One or two plain sentences for the card. */
  summary: string;
  /** The original message without the file name, for a tooltip or details; null when it adds nothing. */
  detail: string | null;
}

const SUMMARIES: Record<string, string> = {
  unsupported: 'This file is not a picture this app can open. Pictures in PNG, JPEG, WebP, GIF, TIFF or SVG work.',
  corrupt: 'This picture is damaged and cannot be opened. Try saving or downloading it again.',
  truncated: 'This picture is cut short (as after an interrupted download or copy). Try saving or downloading it again.',
  empty: 'This file is empty.',
  'no-ink': 'No digit found: the picture looks empty.',
  unreadable: 'This file could not be read. Check that it is still there and that you may open it.',
  directory: 'This is a folder, not a picture.',
  'not-found': 'This file is gone.',
};

/** The message without a leading "<file name>: ". */
export function withoutFileName(item: Failure): string {
  const prefix = `${item.name}: `;
  return item.error.startsWith(prefix) ? item.error.slice(prefix.length) : item.error;
}

export function pictureErrorText(item: Failure): PictureErrorText {
  const problem = withoutFileName(item);
  const summary = item.code ? SUMMARIES[item.code] : undefined;
  if (!summary) return { summary: capitalise(problem), detail: null };
  // "it looks like a PDF document" is worth saying in the summary itself.
  const looksLike = /it looks like ([^)]+)\)/.exec(problem);
  if (item.code === 'unsupported' && looksLike) return { summary: `This file is not a picture: it looks like ${looksLike[1]}.`, detail: problem };
  return { summary, detail: problem };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
