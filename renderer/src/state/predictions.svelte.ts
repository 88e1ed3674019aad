/**
 * The prediction pane's state: files go to main in chunks (so dozens of pictures never freeze
 * the window or make one giant message), results arrive card by card, and one bad file gets its
 * own error while the others succeed.
 *
 * The limits are main's own (AppInfo.limits): a picture over the per-picture size is refused
 * here on its own card, and a chunk stays within both the count and the byte limit of a request.
 */
import { chunkBySize } from '../lib/chunks.ts';
import type { AppLimits, ImageUpload, PredictionItem, StudioApi } from '../lib/contract.ts';
import { errorMessage } from '../lib/errors.ts';
import type { PickedFile } from '../lib/imageFiles.ts';
import { describeMegabytes } from '../../../main/ml/limits.ts';

/** At most this many pictures per request, so results appear card by card. */
export const FILES_PER_REQUEST = 16;

type PredictionLimits = Pick<AppLimits, 'maxPictureBytes' | 'maxPicturesPerRequest' | 'maxRequestBytes'>;

export interface PredictionCard {
  id: number;
  item: PredictionItem;
  /** Object URL of the original picture, for the thumbnail (null when it could not be made). */
  thumbnail: string | null;
  /** The picture itself, so it can be filed in "My digits" under its digit. */
  picture: Blob;
}

export interface Progress {
  done: number;
  total: number;
}

/** Object URLs are injectable so tests (jsdom has none) can count them. */
export interface UrlFactory {
  create(blob: Blob): string | null;
  revoke(url: string): void;
}

const browserUrls: UrlFactory = {
  create: (blob) => (typeof URL.createObjectURL === 'function' ? URL.createObjectURL(blob) : null),
  revoke: (url) => {
    if (typeof URL.revokeObjectURL === 'function') URL.revokeObjectURL(url);
  },
};

function failure(name: string, error: string): PredictionItem {
  return { name, ok: false, error };
}

export class Predictions {
  cards = $state.raw<PredictionCard[]>([]);
  progress = $state.raw<Progress | null>(null);

  readonly #api: StudioApi;
  readonly #urls: UrlFactory;
  readonly #knownLimits: () => PredictionLimits | null;
  #nextId = 1;
  #queue: Promise<void> = Promise.resolve();

  /** `limits`: main's limits when already known (the window's AppInfo); else they are asked for once. */
  constructor(api: StudioApi, urls: UrlFactory = browserUrls, limits: () => PredictionLimits | null = () => null) {
    this.#api = api;
    this.#urls = urls;
    this.#knownLimits = limits;
  }

  #askedLimits: Promise<PredictionLimits> | null = null;
  #limits(): Promise<PredictionLimits> {
    const known = this.#knownLimits();
    if (known) return Promise.resolve(known);
    this.#askedLimits ??= this.#api.getAppInfo().then(
      (info) => info.limits,
      (error: unknown) => {
        this.#askedLimits = null;
        throw error;
      },
    );
    return this.#askedLimits;
  }

  get busy(): boolean {
    return this.progress !== null;
  }

  get items(): PredictionItem[] {
    return this.cards.map((card) => card.item);
  }

  /** Queues files for prediction; resolves when these (and any queued before) are done. */
  predict(files: readonly PickedFile[]): Promise<void> {
    if (files.length === 0) return this.#queue;
    const progress = this.progress ?? { done: 0, total: 0 };
    this.progress = { done: progress.done, total: progress.total + files.length };
    this.#queue = this.#queue.then(() => this.#run(files));
    return this.#queue;
  }

  /** Reads one picture without keeping a card (the drawing pad's live answer). */
  async preview(picked: PickedFile): Promise<PredictionItem> {
    const [item] = await this.#predictGroup([picked], await this.#limits());
    return item;
  }

  clear(): void {
    for (const card of this.cards) if (card.thumbnail) this.#urls.revoke(card.thumbnail);
    this.cards = [];
  }

  /** Newest first: this batch's cards go on top, in the order the files came. */
  async #run(files: readonly PickedFile[]): Promise<void> {
    let limits: PredictionLimits;
    try {
      limits = await this.#limits();
    } catch (error) {
      this.#add(files, files.map((picked) => failure(picked.name, errorMessage(error))), 0);
      return;
    }
    const groups = chunkBySize(files, {
      count: Math.min(FILES_PER_REQUEST, limits.maxPicturesPerRequest),
      size: limits.maxRequestBytes,
      sizeOf: (picked) => (picked.file.size > limits.maxPictureBytes ? 0 : picked.file.size),
    });
    let position = 0;
    for (const group of groups) position = this.#add(group, await this.#predictGroup(group, limits), position);
  }

  /** Puts the group's cards at `position` (0 = top); returns the position after them. */
  #add(group: readonly PickedFile[], items: PredictionItem[], position: number): number {
    const cards = group.map((picked, i) => ({
      id: this.#nextId++,
      item: items[i],
      thumbnail: items[i].ok ? this.#urls.create(picked.file) : null,
      picture: picked.file,
    }));
    this.cards = [...this.cards.slice(0, position), ...cards, ...this.cards.slice(position)];
    const progress = this.progress ?? { done: 0, total: group.length };
    const done = progress.done + group.length;
    this.progress = done >= progress.total ? null : { done, total: progress.total };
    return position + cards.length;
  }

  /** One request for one chunk; returns one item per file, in order. */
  async #predictGroup(group: readonly PickedFile[], limits: PredictionLimits): Promise<PredictionItem[]> {
    const items: (PredictionItem | null)[] = group.map(() => null);
    const uploads: ImageUpload[] = [];
    const positions: number[] = [];
    await Promise.all(
      group.map(async (picked, i) => {
        if (picked.file.size > limits.maxPictureBytes) {
          items[i] = failure(
            picked.name,
            `${picked.name}: the file is ${describeMegabytes(picked.file.size)}; pictures up to ${describeMegabytes(limits.maxPictureBytes)} are accepted.`,
          );
          return;
        }
        try {
          const bytes = new Uint8Array(await picked.file.arrayBuffer());
          uploads[i] = { name: picked.name, bytes };
        } catch (error) {
          items[i] = failure(picked.name, `${picked.name}: could not read the file (${errorMessage(error)}).`);
        }
      }),
    );
    const toSend = group.map((_, i) => i).filter((i) => items[i] === null);
    for (const i of toSend) positions.push(i);
    if (positions.length > 0) {
      try {
        const results = await this.#api.predictImages({ files: positions.map((i) => uploads[i]) });
        positions.forEach((position, k) => {
          items[position] = results[k] ?? failure(group[position].name, `${group[position].name}: no result came back for this file.`);
        });
      } catch (error) {
        const message = errorMessage(error);
        for (const position of positions) items[position] = failure(group[position].name, message);
      }
    }
    return items as PredictionItem[];
  }
}
