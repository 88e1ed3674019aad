/**
 * "My digits": the user's own labelled pictures, one collection per workspace, kept as plain
 * files in the labelled-folder layout (`<workspace>/my-digits/<digit>/<name>.png`), so it can be
 * opened, backed up, versioned and given to `digits train --images`. Pictures enter from teach
 * mode (drawings), from Predict cards ("this is a 7") and from a dropped labelled folder or zip;
 * each is checked (it must be a picture the preprocessing can read) before it is filed.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { PIXELS } from '../ml/dataset.ts';
import { LabelledFolderError, PICTURE_EXTENSIONS, pictureInput, readLabelledFolder, type LabelledFolder } from '../ml/labelledFolder.ts';
import { PICTURE_FOLDER_LIMITS, PICTURE_LIMITS, describeMegabytes } from '../ml/limits.ts';
import type { MyDigitsSummary } from './contract.ts';
import { StudioError } from './errors.ts';

export const MY_DIGITS_FOLDER = 'my-digits';
/** Originals up to this size travel with the list as thumbnails (a drawing is a few kB). */
const THUMBNAIL_BYTES = 256 * 1024;
const SAFE_NAME = /[^A-Za-z0-9._-]+/g;

export interface AddedPicture {
  name: string;
  file?: string;
  error?: string;
}

/** A relative path inside the collection as the renderer names it, checked: `<digit>/<...>/<name>`. */
function checkedFile(file: string): { digit: number; parts: string[] } {
  const parts = file.split('/');
  if (parts.length < 2 || !/^[0-9]$/.test(parts[0]) || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new StudioError('invalid-payload', `${file} is not a picture of the collection (expected <digit>/<name>)`);
  }
  return { digit: Number(parts[0]), parts };
}

/** The label a path inside a dropped folder or zip gives: its last folder named 0..9, if any. */
export function labelFromPath(entry: string): number | null {
  const folders = entry.split(/[\\/]/).slice(0, -1);
  for (let i = folders.length - 1; i >= 0; i--) if (/^[0-9]$/.test(folders[i])) return Number(folders[i]);
  return null;
}

/**
 * The files of a dropped zip, or why it cannot be read. Entries are inflated only when the size
 * they declare is within the per-picture limit and the zip's declared total within
 * PICTURE_FOLDER_LIMITS.maxUnzippedBytes (checked before inflating, so a zip bomb costs nothing).
 */
function unzipPictures(
  name: string,
  bytes: Uint8Array,
): { entries: [string, Uint8Array][]; tooLarge: AddedPicture[] } | { error: string } {
  const tooLarge: AddedPicture[] = [];
  let total = 0;
  let overTotal = false;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (entry) => {
        if (entry.name.endsWith('/')) return false;
        if (entry.originalSize > PICTURE_LIMITS.maxFileBytes) {
          tooLarge.push({ name: `${name}/${entry.name}`, error: `larger than the picture size limit (${describeMegabytes(PICTURE_LIMITS.maxFileBytes)})` });
          return false;
        }
        total += entry.originalSize;
        if (total > PICTURE_FOLDER_LIMITS.maxUnzippedBytes) overTotal = true;
        return !overTotal;
      },
    });
  } catch (error) {
    return { error: `not a zip archive that can be read (${error instanceof Error ? error.message : String(error)})` };
  }
  if (overTotal) {
    return { error: `its pictures add up to more than ${describeMegabytes(PICTURE_FOLDER_LIMITS.maxUnzippedBytes)} unpacked; split it into smaller zips` };
  }
  return { entries: Object.entries(entries), tooLarge };
}

export class DigitCollection {
  readonly dir: string;
  readonly #cacheDir: string;

  constructor(workspaceDir: string, cacheDir: string) {
    this.dir = path.join(workspaceDir, MY_DIGITS_FOLDER);
    this.#cacheDir = cacheDir;
  }

  /** The collection as model inputs (null when it holds no usable picture yet). */
  async read(): Promise<LabelledFolder | null> {
    await fs.mkdir(this.dir, { recursive: true });
    try {
      return await readLabelledFolder(this.dir, { cacheDir: this.#cacheDir });
    } catch (error) {
      if (error instanceof LabelledFolderError) return null;
      throw error;
    }
  }

  async summary(): Promise<MyDigitsSummary> {
    const folder = await this.read();
    if (!folder) return { dir: this.dir, perDigit: new Array<number>(10).fill(0), items: [], failed: [], ignored: 0 };
    const items = await Promise.all(
      folder.pictures.files.map(async (file, i) => {
        const full = path.join(this.dir, file);
        const size = (await fs.stat(full).catch(() => null))?.size ?? Infinity;
        return {
          file,
          label: folder.pictures.labels[i],
          picture: size <= THUMBNAIL_BYTES ? new Uint8Array(await fs.readFile(full)) : null,
          input: folder.pictures.images.slice(i * PIXELS, (i + 1) * PIXELS),
        };
      }),
    );
    return {
      dir: this.dir,
      perDigit: folder.perDigit,
      items,
      failed: folder.failed.map(({ file, error }) => ({ file, error })),
      ignored: folder.ignored.length,
    };
  }

  /**
   * Files each picture under its digit after checking the preprocessing can read it (its input
   * goes into the cache on the way). A picture that cannot be read is reported, not filed.
   */
  async add(pictures: { label: number; name: string; bytes: Uint8Array }[]): Promise<AddedPicture[]> {
    const existing = (await this.read())?.pictures.count ?? 0;
    if (existing + pictures.length > PICTURE_FOLDER_LIMITS.maxPictures) {
      throw new StudioError('invalid-payload', `The collection would hold more than ${PICTURE_FOLDER_LIMITS.maxPictures} pictures.`);
    }
    const results: AddedPicture[] = [];
    for (const picture of pictures) {
      const base = path.basename(picture.name.replace(/\\/g, '/')) || 'picture';
      try {
        if (picture.bytes.byteLength > PICTURE_LIMITS.maxFileBytes) throw new Error(`${base}: larger than the picture size limit`);
        await pictureInput(picture.bytes, base, this.#cacheDir);
        const extension = path.extname(base).toLowerCase();
        const stem = path.basename(base, extension).replace(SAFE_NAME, '-').slice(0, 60) || 'picture';
        const hash = createHash('sha256').update(picture.bytes).digest('hex').slice(0, 10);
        const name = `${stem}-${hash}${PICTURE_EXTENSIONS.has(extension) ? extension : '.png'}`;
        await fs.mkdir(path.join(this.dir, String(picture.label)), { recursive: true });
        await fs.writeFile(path.join(this.dir, String(picture.label), name), picture.bytes);
        results.push({ name: picture.name, file: `${picture.label}/${name}` });
      } catch (error) {
        results.push({ name: picture.name, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return results;
  }

  /**
   * Adds the pictures of a dropped labelled folder or zip: `files` are paths as dropped (the
   * label is the last folder named 0..9 in each path) or zip archives holding such paths, on
   * their own or inside a dropped folder (`mine/extra.zip/7/a.png` is a 7, and so is
   * `mine/7/more.zip/a.png`). A zip that cannot be read, or a picture in it over the size limit,
   * fails alone with its error; everything else is still added.
   */
  async import(files: { path: string; bytes: Uint8Array }[]): Promise<{ added: AddedPicture[]; ignored: string[] }> {
    const pictures: { label: number; name: string; bytes: Uint8Array }[] = [];
    const ignored: string[] = [];
    const refused: AddedPicture[] = [];
    const consider = (entry: string, bytes: Uint8Array) => {
      const label = labelFromPath(entry);
      const extension = path.extname(entry).toLowerCase();
      if (label === null || !PICTURE_EXTENSIONS.has(extension) || path.basename(entry).startsWith('.')) ignored.push(entry);
      else pictures.push({ label, name: entry, bytes });
    };
    for (const file of files) {
      if (path.extname(file.path).toLowerCase() !== '.zip') {
        consider(file.path, file.bytes);
        continue;
      }
      const unzipped = unzipPictures(file.path, file.bytes);
      if ('error' in unzipped) {
        refused.push({ name: file.path, error: unzipped.error });
        continue;
      }
      refused.push(...unzipped.tooLarge);
      for (const [entry, bytes] of unzipped.entries) consider(`${file.path}/${entry}`, bytes);
    }
    return { added: [...refused, ...(await this.add(pictures))], ignored };
  }

  async remove(file: string): Promise<void> {
    checkedFile(file);
    await fs.rm(path.join(this.dir, ...file.split('/'))).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new StudioError('not-found', `${file} is not in the collection (any more).`);
      throw error;
    });
  }

  async relabel(file: string, label: number): Promise<string> {
    const { parts } = checkedFile(file);
    const target = `${label}/${parts.at(-1)}`;
    if (target === file) return file;
    await fs.mkdir(path.join(this.dir, String(label)), { recursive: true });
    await fs.rename(path.join(this.dir, ...parts), path.join(this.dir, ...target.split('/'))).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new StudioError('not-found', `${file} is not in the collection (any more).`);
      throw error;
    });
    return target;
  }
}
