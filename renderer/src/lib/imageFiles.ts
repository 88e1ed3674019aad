/**
 * Files the user hands over (drop, picker, paste) as a flat list of named blobs. Dropped folders
 * are walked through the File and Directory Entries API (`webkitGetAsEntry`), keeping only
 * pictures; files named one by one are all kept, so a wrong file gets its own error card.
 */
export interface PickedFile {
  /** The name shown on the result card: a path inside a dropped folder, e.g. "digits/7.png". */
  name: string;
  file: Blob;
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|bmp|tiff?|svg|avif|heic|heif)$/i;

export function isImageFile(file: { name: string; type: string }): boolean {
  return file.type.startsWith('image/') || IMAGE_EXTENSIONS.test(file.name);
}

/** A zip archive (a labelled folder zipped, for "My digits"). */
export function isZipFile(file: { name: string; type: string }): boolean {
  return /\.zip$/i.test(file.name) || file.type === 'application/zip' || file.type === 'application/x-zip-compressed';
}

/** What "My digits" takes from a dropped folder: pictures, and zips of labelled pictures. */
export function isPictureOrZip(file: { name: string; type: string }): boolean {
  return isImageFile(file) || isZipFile(file);
}

/** Whether a drag carries files (and not, say, selected text). */
export function hasFiles(transfer: DataTransfer | null): boolean {
  return !!transfer && Array.from(transfer.types ?? []).includes('Files');
}

function readFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** All entries of a folder: `readEntries` hands them out in batches until it returns none. */
async function readAllEntries(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const entries: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, inFolder: boolean, out: PickedFile[], keep: (file: File) => boolean): Promise<void> {
  if (entry.isFile) {
    const file = await readFile(entry as FileSystemFileEntry);
    if (!inFolder || keep(file)) out.push({ name: entry.fullPath.replace(/^\//, '') || file.name, file });
    return;
  }
  if (entry.isDirectory) {
    const children = await readAllEntries(entry as FileSystemDirectoryEntry);
    children.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    for (const child of children) await walk(child, true, out, keep);
  }
}

/**
 * The files of a drop, folders walked. Must be called during the drop event itself: the browser
 * empties `dataTransfer.items` once the handler returns, so the entries are taken synchronously.
 * Inside dropped folders only pictures are kept, unless `keep` says otherwise (a model folder).
 */
export function filesFromDrop(transfer: DataTransfer, keep: (file: File) => boolean = isImageFile): Promise<PickedFile[]> {
  const items = Array.from(transfer.items ?? []).filter((item) => item.kind === 'file');
  const entries = items.map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((entry) => entry === null)) {
    return Promise.resolve(Array.from(transfer.files ?? []).map((file) => ({ name: file.name, file })));
  }
  return (async () => {
    const out: PickedFile[] = [];
    for (const entry of entries) await walk(entry!, false, out, keep);
    return out;
  })();
}

/** Files from an `<input type="file">` or a paste, in order. */
export function filesFromList(files: FileList | readonly File[] | null | undefined): PickedFile[] {
  return Array.from(files ?? []).map((file) => ({ name: file.name, file }));
}

/** Pictures on the clipboard of a paste event (screenshots arrive as "image.png"). */
export function imagesFromClipboard(data: DataTransfer | null): PickedFile[] {
  if (!data) return [];
  const files = Array.from(data.files ?? []).filter(isImageFile);
  if (files.length > 0) return filesFromList(files);
  return Array.from(data.items ?? [])
    .filter((item) => item.kind === 'file' && item.type.startsWith('image/'))
    .map((item) => item.getAsFile())
    .filter((file): file is File => file !== null)
    .map((file) => ({ name: file.name || 'pasted image', file }));
}
