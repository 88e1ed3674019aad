/**
 * A model folder as one zip (the browser version's export is a download) and back (its import is
 * an upload: the folder's files, or a zip of them). Uploaded names and sizes are untrusted: only
 * the files a model folder holds are accepted (model.json, its .bin weights, metadata.json), with
 * no paths, and a zip's declared sizes are checked before anything is inflated. What comes out
 * is written to a folder and loaded by loadModelFolder, with all its checks.
 */
import { unzipSync, zipSync, type Unzipped } from 'fflate';
import { REQUEST_LIMITS, describeMegabytes } from './limits.ts';
import { MODEL_JSON, isModelFolderListing } from './modelFolder.ts';

export class ModelArchiveError extends Error {
  override name = 'ModelArchiveError';
}

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** One zip of a model folder's files, at the top level (what tf.loadLayersModel wants beside each other). */
export function zipModelFolder(files: Record<string, Uint8Array>): Uint8Array {
  // Weights barely compress; JSON does. Level 6 costs about as much as a copy for a few MB.
  return zipSync(files, { level: 6, mtime: new Date('2000-01-01T00:00:00Z') });
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function isZip(file: NamedBytes): boolean {
  return /\.zip$/i.test(file.name) || ZIP_MAGIC.every((byte, i) => file.bytes[i] === byte);
}

/** Files that come along in zips and folders made on a desktop, and mean nothing here. */
const IGNORED = /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)/i;

function unpack(zip: NamedBytes): NamedBytes[] {
  let declared = 0;
  let unpacked: Unzipped;
  try {
    unpacked = unzipSync(zip.bytes, {
      filter(entry) {
        if (entry.name.endsWith('/') || IGNORED.test(entry.name)) return false;
        declared += entry.originalSize;
        if (declared > REQUEST_LIMITS.maxModelUnzippedBytes) {
          throw new ModelArchiveError(
            `${zip.name} unpacks to more than ${describeMegabytes(REQUEST_LIMITS.maxModelUnzippedBytes)}; a model folder is far smaller`,
          );
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof ModelArchiveError) throw error;
    throw new ModelArchiveError(`${zip.name} is not a zip file that can be read (${(error as Error).message})`);
  }
  const entries = Object.entries(unpacked);
  // A zip of the folder itself ("digits-model/model.json") is as good as one of its files.
  const folders = new Set(entries.map(([name]) => (name.includes('/') ? name.slice(0, name.indexOf('/') + 1) : '')));
  const prefix = folders.size === 1 ? [...folders][0] : '';
  return entries.map(([name, bytes]) => {
    const inner = name.slice(prefix.length);
    if (inner.includes('/') || inner.includes('\\')) {
      throw new ModelArchiveError(`${zip.name} holds ${name}: a model zip holds model.json, its weights and metadata.json, not folders`);
    }
    return { name: inner, bytes };
  });
}

/**
 * The model folder's files from an upload: the files of a model folder (names may carry the
 * folder, as a picked folder's do: "model/model.json"), or one zip of them. Throws
 * ModelArchiveError saying what is wrong and what a model folder holds.
 */
export function modelFilesFromUpload(upload: NamedBytes[]): Record<string, Uint8Array> {
  const wanted = upload.filter((file) => !IGNORED.test(file.name));
  const files = wanted.length === 1 && isZip(wanted[0]) ? unpack(wanted[0]) : wanted;
  const out: Record<string, Uint8Array> = {};
  for (const file of files) {
    if (IGNORED.test(file.name)) continue;
    const name = file.name.slice(file.name.lastIndexOf('/') + 1);
    if (name === '' || name === '.' || name === '..') throw new ModelArchiveError(`'${file.name}' is not a file name`);
    if (Object.hasOwn(out, name)) throw new ModelArchiveError(`${name} was given twice; choose one model folder`);
    out[name] = file.bytes;
  }
  const names = Object.keys(out);
  if (!names.includes(MODEL_JSON)) {
    throw new ModelArchiveError(
      `no ${MODEL_JSON} among ${names.join(', ') || 'the files'}: choose a model folder (model.json, its weights .bin files, metadata.json) or a zip of it`,
    );
  }
  if (!isModelFolderListing(names)) {
    const others = names.filter((name) => !isModelFolderListing([MODEL_JSON, name]));
    throw new ModelArchiveError(`${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} not part of a model folder (model.json, its weights .bin files, metadata.json)`);
  }
  return out;
}
