import { describe, expect, it } from 'vitest';
import { fakeCollectionMain as fakeMain } from '../test/fakeCollection.ts';
import { MyDigits } from './myDigits.svelte.ts';
import { Notices } from './notices.svelte.ts';

const png = (name: string, size = 4) => ({ name, file: new File([new Uint8Array(size)], name.split('/').at(-1)!, { type: 'image/png' }) });

describe('MyDigits (the collection state)', () => {
  it('teach mode asks for each digit in turn, N times each, filing every drawing under the digit asked for', async () => {
    const { api, files } = fakeMain();
    const notices = new Notices();
    const collection = new MyDigits(api, notices);
    collection.startTeaching(2);
    const asked: string[] = [];
    while (collection.prompt) {
      const { digit, nth, of } = collection.prompt;
      asked.push(`${digit}:${nth}/${of}`);
      expect(await collection.addDrawing(new Blob([new Uint8Array([1])], { type: 'image/png' }))).toBe(true);
    }
    expect(asked).toEqual(Array.from({ length: 10 }, (_, d) => [`${d}:1/2`, `${d}:2/2`]).flat());
    expect(api.addMyDigits.mock.calls.map(([payload]) => payload.pictures[0].label)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    expect(collection.summary?.perDigit).toEqual(new Array(10).fill(2));
    expect(files()).toHaveLength(20);
    expect(collection.teach).toBeNull();
    expect(notices.items.map((n) => n.text)).toEqual(['Teach mode done: 20 pictures in "My digits".']);
  });

  it('keeps asking for the same digit when a drawing could not be filed', async () => {
    const { api } = fakeMain();
    api.addMyDigits.mockRejectedValueOnce({ message: 'The collection folder cannot be written (EACCES).' });
    const notices = new Notices();
    const collection = new MyDigits(api, notices);
    collection.startTeaching(3);
    expect(await collection.addDrawing(new Blob([new Uint8Array([1])]))).toBe(false);
    expect(collection.prompt).toEqual({ digit: 0, nth: 1, of: 3 });
    expect(notices.items.at(-1)).toMatchObject({ kind: 'error' });
    expect(notices.items.at(-1)!.text).toMatch(/EACCES/);
    expect(await collection.addDrawing(new Blob([new Uint8Array([1])]))).toBe(true);
    expect(collection.prompt).toEqual({ digit: 0, nth: 2, of: 3 });
    collection.stopTeaching();
    expect(collection.prompt).toBeNull();
  });

  it('adds a dropped labelled folder: a bad file fails alone with its error, the rest are counted per digit', async () => {
    const { api } = fakeMain();
    const notices = new Notices();
    const collection = new MyDigits(api, notices);
    const added = await collection.import([png('mine/7/a.png'), png('mine/7/b.png'), png('mine/3/bad.png'), png('mine/1/c.png'), png('mine/readme.png')]);
    expect(added).toBe(true);
    expect(collection.summary?.perDigit).toEqual([0, 1, 0, 0, 0, 0, 0, 2, 0, 0]);
    expect(collection.total).toBe(3);
    const errors = notices.items.filter((n) => n.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].text).toMatch(/Not added: mine\/3\/bad\.png/);
    expect(errors[0].text).toMatch(/not a picture/);
    expect(notices.items.filter((n) => n.kind === 'info').map((n) => n.text)).toEqual(['Ignored 1 files outside a 0-9 folder or not pictures (mine/readme.png).']);
  });

  it("sends a large drop in requests within main's limits; a file too large fails alone and a failed request loses only its own files", async () => {
    const { api } = fakeMain();
    const notices = new Notices();
    const limits = { maxPictureBytes: 100, maxPicturesPerRequest: 2, maxRequestBytes: 1000 };
    const collection = new MyDigits(api, notices, () => limits);
    // The second request (c, d) fails as a whole: e and the zip still go in.
    api.importMyDigits.mockImplementationOnce(api.importMyDigits.getMockImplementation()!);
    api.importMyDigits.mockImplementationOnce(async () => {
      throw { message: 'the connection dropped' };
    });
    const zip = { name: 'mine/3/more.zip', file: new File([new Uint8Array(500)], 'more.zip', { type: 'application/zip' }) };
    const video = { name: 'm/4/clip.mov', file: new File([new Uint8Array(5000)], 'clip.mov', { type: 'video/quicktime' }) };
    const added = await collection.import([png('m/1/a.png'), png('m/1/b.png'), png('m/2/c.png'), png('m/2/d.png'), png('m/5/huge.png', 101), video, png('m/4/e.png'), zip]);
    expect(added).toBe(true);
    const sent = api.importMyDigits.mock.calls.map(([payload]) => payload.files.map((f) => f.path));
    expect(sent).toEqual([['m/1/a.png', 'm/1/b.png'], ['m/2/c.png', 'm/2/d.png'], ['m/4/e.png', 'mine/3/more.zip']]);
    expect(sent.flat()).not.toContain('m/5/huge.png');
    // Neither a picture nor a zip: not sent, listed as ignored (not an error).
    expect(notices.items.filter((n) => n.kind === 'info').map((n) => n.text)).toEqual(['Ignored 1 files outside a 0-9 folder or not pictures (m/4/clip.mov).']);
    expect(collection.summary?.perDigit.slice(0, 5)).toEqual([0, 2, 0, 1, 1]);
    const errors = notices.items.filter((n) => n.kind === 'error').map((n) => n.text);
    expect(errors).toHaveLength(2);
    expect(errors.find((t) => t.includes('2 files'))).toMatch(/the connection dropped/);
    expect(errors.find((t) => t.includes('huge.png'))).toMatch(/Not added: m\/5\/huge\.png.*pictures up to/);
  });

  it('removes and relabels pictures, and the counts follow', async () => {
    const { api } = fakeMain();
    const collection = new MyDigits(api, new Notices());
    await collection.import([png('x/7/a.png'), png('x/7/b.png')]);
    expect(collection.summary?.perDigit[7]).toBe(2);
    await collection.relabel('7/a.png', 1);
    expect(api.relabelMyDigit).toHaveBeenCalledWith({ file: '7/a.png', label: 1 });
    expect([collection.summary?.perDigit[1], collection.summary?.perDigit[7]]).toEqual([1, 1]);
    await collection.remove('7/b.png');
    expect(api.removeMyDigit).toHaveBeenCalledWith({ file: '7/b.png' });
    expect(collection.summary?.items.map((i) => i.file)).toEqual(['1/a.png']);
  });

  it('says which picture could not be removed, and keeps the collection as it was', async () => {
    const { api } = fakeMain();
    const notices = new Notices();
    const collection = new MyDigits(api, notices);
    await collection.import([png('x/7/a.png')]);
    api.removeMyDigit.mockRejectedValueOnce({ message: '7/a.png is not in the collection (any more).', code: 'not-found' });
    await collection.remove('7/a.png');
    expect(collection.summary?.items.map((i) => i.file)).toEqual(['7/a.png']);
    expect(notices.items.at(-1)!.text).toMatch(/Could not remove 7\/a\.png.*not in the collection/);
  });
});
