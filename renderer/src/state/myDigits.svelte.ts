/**
 * The "My digits" area's state: the collection (counts, thumbnails), teach mode (the app asks
 * for each digit in turn, N times each), imports, and how the current model does on the
 * collection.
 */
import { appLimits, describeMegabytes } from '../../../main/ml/limits.ts';
import { chunkBySize } from '../lib/chunks.ts';
import type { AppLimits, MyDigitsChange, MyDigitsEvaluation, MyDigitsSummary, StudioApi } from '../lib/contract.ts';
import { isPictureOrZip, isZipFile, type PickedFile } from '../lib/imageFiles.ts';
import type { Notices } from './notices.svelte.ts';

type ImportLimits = Pick<AppLimits, 'maxPictureBytes' | 'maxPicturesPerRequest' | 'maxRequestBytes'>;

export const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
export const DEFAULT_PER_DIGIT = 3;
export const MAX_PER_DIGIT = 50;

export interface TeachSession {
  perDigit: number;
  /** Position in the sequence 0,0,..,1,1,..,9 (perDigit of each). */
  index: number;
}

/** A change to the collection as reported; `summary` is null when no request got through. */
type Change = Omit<MyDigitsChange, 'summary'> & { summary: MyDigitsSummary | null };

export class MyDigits {
  summary = $state.raw<MyDigitsSummary | null>(null);
  loading = $state(false);
  busy = $state(false);
  evaluation = $state.raw<MyDigitsEvaluation | null>(null);
  evaluating = $state(false);
  teach = $state.raw<TeachSession | null>(null);
  /** The picture picked in the Evaluate view ("Show in My digits"); `serial` grows with each pick. */
  revealed = $state.raw<{ file: string; serial: number } | null>(null);

  readonly #api: StudioApi;
  readonly #notices: Notices;
  readonly #limits: () => ImportLimits | null;

  /** `limits`: main's (AppInfo.limits) once known; until then the same numbers from limits.ts. */
  constructor(api: StudioApi, notices: Notices, limits: () => ImportLimits | null = () => null) {
    this.#api = api;
    this.#notices = notices;
    this.#limits = limits;
  }

  get total(): number {
    return this.summary?.items.length ?? 0;
  }

  /** The digit teach mode asks for now, and which of its N drawings this is (1-based). */
  get prompt(): { digit: number; nth: number; of: number } | null {
    const teach = this.teach;
    if (!teach) return null;
    return { digit: Math.floor(teach.index / teach.perDigit), nth: (teach.index % teach.perDigit) + 1, of: teach.perDigit };
  }

  /** Points the collection view at one picture (it scrolls to it and outlines it). */
  reveal(file: string): void {
    this.revealed = { file, serial: (this.revealed?.serial ?? 0) + 1 };
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.summary = await this.#api.listMyDigits();
    } catch (error) {
      this.#notices.error(error, 'Could not read "My digits"');
    } finally {
      this.loading = false;
    }
  }

  startTeaching(perDigit: number): void {
    this.teach = { perDigit: Math.max(1, Math.min(MAX_PER_DIGIT, Math.round(perDigit))), index: 0 };
  }

  stopTeaching(): void {
    this.teach = null;
  }

  /** Files a teach-mode drawing under the digit asked for and moves to the next prompt. */
  async addDrawing(png: Blob): Promise<boolean> {
    const prompt = this.prompt;
    if (!prompt) return false;
    const name = `drawn-${prompt.digit}.png`;
    const ok = await this.add(prompt.digit, name, png);
    if (ok && this.teach) {
      const next = this.teach.index + 1;
      this.teach = next >= this.teach.perDigit * DIGITS.length ? null : { ...this.teach, index: next };
      if (!this.teach) this.#notices.info(`Teach mode done: ${this.total} pictures in "My digits".`);
    }
    return ok;
  }

  /** Files one picture (a drawing, a Predict card's picture) under `label`. */
  async add(label: number, name: string, picture: Blob): Promise<boolean> {
    return this.#change(async () => {
      const bytes = new Uint8Array(await picture.arrayBuffer());
      return this.#api.addMyDigits({ pictures: [{ label, name, bytes }] });
    });
  }

  /**
   * Adds a dropped labelled folder (paths keep their 0..9 folder) or zips of one, in requests
   * within main's count and byte limits. A file too large to send fails alone, here; the rest go.
   */
  async import(files: PickedFile[]): Promise<boolean> {
    const limits = this.#limits() ?? appLimits();
    const change: Change = { summary: null, added: [], failed: [], ignored: [] };
    const sendable: PickedFile[] = [];
    for (const picked of files) {
      // A chosen folder brings every file in it: what is neither a picture nor a zip stays here.
      if (!isPictureOrZip({ name: picked.name, type: picked.file.type })) {
        change.ignored.push(picked.name);
        continue;
      }
      const zip = isZipFile({ name: picked.name, type: picked.file.type });
      const max = zip ? limits.maxRequestBytes : limits.maxPictureBytes;
      if (picked.file.size > max) {
        change.failed.push({ name: picked.name, error: `the file is ${describeMegabytes(picked.file.size)}; ${zip ? 'zips' : 'pictures'} up to ${describeMegabytes(max)} are accepted` });
      } else sendable.push(picked);
    }
    const groups = chunkBySize(sendable, { count: limits.maxPicturesPerRequest, size: limits.maxRequestBytes, sizeOf: (picked) => picked.file.size });
    this.busy = true;
    try {
      for (const group of groups) {
        try {
          const payload = await Promise.all(group.map(async ({ name, file }) => ({ path: name, bytes: new Uint8Array(await file.arrayBuffer()) })));
          const result = await this.#api.importMyDigits({ files: payload });
          change.summary = result.summary;
          change.added.push(...result.added);
          change.failed.push(...result.failed);
          change.ignored.push(...result.ignored);
        } catch (error) {
          this.#notices.error(error, `Could not add ${group.length === 1 ? group[0].name : `${group.length} files`} to "My digits"`);
        }
      }
    } finally {
      this.busy = false;
    }
    return this.#report(change);
  }

  async remove(file: string): Promise<void> {
    await this.#replace(() => this.#api.removeMyDigit({ file }), `Could not remove ${file}`);
  }

  async relabel(file: string, label: number): Promise<void> {
    await this.#replace(() => this.#api.relabelMyDigit({ file, label }), `Could not move ${file}`);
  }

  async evaluate(): Promise<void> {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      const evaluation = await this.#api.evaluateMyDigits();
      this.evaluation = evaluation;
      // Main read the folder itself: pictures added or removed outside the app since the last
      // listing show up in the evaluation, so the collection (thumbnails, counts) follows it.
      // Both lists come in the folder's order (main/ml/labelledFolder.ts), so they match one to one.
      const listed = this.summary?.items ?? [];
      if (evaluation.readings.length !== listed.length || evaluation.readings.some((reading, i) => reading.file !== listed[i].file)) void this.load();
    } catch (error) {
      this.#notices.error(error, 'Could not evaluate on "My digits"');
    } finally {
      this.evaluating = false;
    }
  }

  async #change(call: () => Promise<MyDigitsChange>): Promise<boolean> {
    this.busy = true;
    try {
      return this.#report(await call());
    } catch (error) {
      this.#notices.error(error, 'Could not add to "My digits"');
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Shows the collection after a change, each refused file with its own error, and what was ignored. */
  #report(change: Change): boolean {
    if (change.summary) this.summary = change.summary;
    if (change.added.length > 0) this.evaluation = null;
    for (const failure of change.failed) this.#notices.error({ message: failure.error }, `Not added: ${failure.name}`);
    if (change.ignored.length > 0) {
      const shown = change.ignored.slice(0, 3).join(', ');
      this.#notices.info(`Ignored ${change.ignored.length} files outside a 0-9 folder or not pictures (${shown}${change.ignored.length > 3 ? ', ...' : ''}).`);
    }
    return change.added.length > 0;
  }

  async #replace(call: () => Promise<MyDigitsSummary>, failure: string): Promise<void> {
    this.busy = true;
    try {
      this.summary = await call();
      this.evaluation = null;
    } catch (error) {
      this.#notices.error(error, failure);
    } finally {
      this.busy = false;
    }
  }
}
