/** A fake main side for "My digits": the collection as a list of files, answering like DigitCollection (main/app/myDigits.ts). */
import { vi } from 'vitest';
import type { MyDigitItem, MyDigitsChange, MyDigitsSummary } from '../lib/contract.ts';
import { createFakeApi } from './fakeApi.ts';

const DIR = '/workspace/my-digits';

/** A collection summary holding `files` (`<digit>/<name>`), counted per digit. */
export function summaryOf(files: string[]): MyDigitsSummary {
  const perDigit = new Array<number>(10).fill(0);
  const items: MyDigitItem[] = files.map((file) => {
    const label = Number(file[0]);
    perDigit[label]++;
    return { file, label, picture: new Uint8Array([0x89, 0x50]), input: new Uint8Array(784) };
  });
  return { dir: DIR, perDigit, items, failed: [], ignored: 0 };
}

/** A fake main that keeps the collection as a list of files and answers like DigitCollection. */
export function fakeCollectionMain(initial: string[] = []) {
  let files: string[] = [...initial];
  let counter = 0;
  const api = createFakeApi({
    listMyDigits: vi.fn(async () => summaryOf(files)),
    addMyDigits: vi.fn(async ({ pictures }: { pictures: { label: number; name: string; bytes: Uint8Array }[] }): Promise<MyDigitsChange> => {
      const added = pictures.map((p) => `${p.label}/${p.name.replace('.png', '')}-${++counter}.png`);
      files = [...files, ...added];
      return { summary: summaryOf(files), added, failed: [], ignored: [] };
    }),
    // Main's import: the label is the path's last 0..9 folder; files named bad* are not pictures.
    importMyDigits: vi.fn(async ({ files: dropped }: { files: { path: string; bytes: Uint8Array }[] }): Promise<MyDigitsChange> => {
      const change: MyDigitsChange = { summary: summaryOf(files), added: [], failed: [], ignored: [] };
      for (const { path } of dropped) {
        const digit = path.split('/').slice(0, -1).reverse().find((part) => /^[0-9]$/.test(part));
        const name = path.split('/').at(-1)!;
        if (digit === undefined) change.ignored.push(path);
        else if (name.startsWith('bad')) change.failed.push({ name: path, error: `${name}: not a picture (the file is not PNG, JPEG, WebP, GIF or TIFF)` });
        else change.added.push(`${digit}/${name}`);
      }
      files = [...files, ...change.added];
      change.summary = summaryOf(files);
      return change;
    }),
    removeMyDigit: vi.fn(async ({ file }: { file: string }) => {
      files = files.filter((f) => f !== file);
      return summaryOf(files);
    }),
    relabelMyDigit: vi.fn(async ({ file, label }: { file: string; label: number }) => {
      files = files.map((f) => (f === file ? `${label}/${f.split('/').at(-1)}` : f));
      return summaryOf(files);
    }),
  });
  return { api, files: () => files };
}

