import { describe, expect, it } from 'vitest';
import { filesFromDrop, imagesFromClipboard, isImageFile, isPictureOrZip, isZipFile } from './imageFiles.ts';

/** Minimal File and Directory Entries API stand-ins (jsdom has none). */
function fileEntry(fullPath: string, type = 'image/png') {
  const name = fullPath.split('/').pop()!;
  const file = new File([new Uint8Array([1, 2, 3])], name, { type });
  return { isFile: true, isDirectory: false, name, fullPath, file: (ok: (f: File) => void) => ok(file) };
}

function directoryEntry(fullPath: string, children: unknown[]) {
  return {
    isFile: false,
    isDirectory: true,
    name: fullPath.split('/').pop()!,
    fullPath,
    createReader() {
      let offset = 0;
      // Browsers hand out entries 100 at a time; the walker must keep asking.
      return {
        readEntries(ok: (entries: unknown[]) => void) {
          const batch = children.slice(offset, offset + 100);
          offset += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  };
}

function transfer(entries: unknown[]): DataTransfer {
  return {
    types: ['Files'],
    files: [],
    items: entries.map((entry) => ({ kind: 'file', type: '', webkitGetAsEntry: () => entry, getAsFile: () => null })),
  } as unknown as DataTransfer;
}

describe('files from a drop', () => {
  it('walks dropped folders (all batches), keeps only pictures there, and keeps every file dropped by name', async () => {
    const many = Array.from({ length: 250 }, (_, i) => fileEntry(`/digits/${i}.png`));
    const folder = directoryEntry('/digits', [
      ...many,
      fileEntry('/digits/notes.txt', 'text/plain'),
      directoryEntry('/digits/more', [fileEntry('/digits/more/a.jpg', 'image/jpeg')]),
    ]);
    const files = await filesFromDrop(transfer([folder, fileEntry('/readme.txt', 'text/plain')]));
    expect(files).toHaveLength(252);
    expect(files[0].name).toBe('digits/0.png');
    expect(files[1].name).toBe('digits/1.png'); // numeric order, not 0, 1, 10, 100
    expect(files.some((f) => f.name === 'digits/notes.txt')).toBe(false);
    expect(files.some((f) => f.name === 'digits/more/a.jpg')).toBe(true);
    expect(files.at(-1)!.name).toBe('readme.txt');
  });

  it('keeps zips inside a dropped folder for "My digits" (isPictureOrZip), and only pictures otherwise', async () => {
    const folder = () =>
      directoryEntry('/mine', [
        directoryEntry('/mine/7', [fileEntry('/mine/7/a.png')]),
        fileEntry('/mine/extra.zip', 'application/zip'),
        fileEntry('/mine/old.ZIP', ''),
        fileEntry('/mine/notes.txt', 'text/plain'),
      ]);
    expect((await filesFromDrop(transfer([folder()]), isPictureOrZip)).map((f) => f.name)).toEqual(['mine/7/a.png', 'mine/extra.zip', 'mine/old.ZIP']);
    expect((await filesFromDrop(transfer([folder()]))).map((f) => f.name)).toEqual(['mine/7/a.png']);
    expect([isZipFile({ name: 'x.zip', type: '' }), isZipFile({ name: 'x', type: 'application/x-zip-compressed' }), isZipFile({ name: 'x.png', type: 'image/png' })]).toEqual([true, true, false]);
  });

  it('falls back to dataTransfer.files without the entries API', async () => {
    const file = new File(['x'], 'a.png', { type: 'image/png' });
    const files = await filesFromDrop({ types: ['Files'], files: [file], items: [{ kind: 'file', type: 'image/png' }] } as unknown as DataTransfer);
    expect(files).toEqual([{ name: 'a.png', file }]);
  });

  it('recognises pictures by type or extension, and takes pasted images only', () => {
    expect(isImageFile({ name: 'x.JPG', type: '' })).toBe(true);
    expect(isImageFile({ name: 'x.txt', type: 'text/plain' })).toBe(false);
    const png = new File(['x'], 'image.png', { type: 'image/png' });
    const text = new File(['x'], 'a.txt', { type: 'text/plain' });
    expect(imagesFromClipboard({ files: [png, text], items: [] } as unknown as DataTransfer)).toEqual([{ name: 'image.png', file: png }]);
  });
});
