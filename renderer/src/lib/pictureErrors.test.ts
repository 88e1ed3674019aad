import { describe, expect, it } from 'vitest';
import { pictureErrorText } from './pictureErrors.ts';

describe('prediction error cards in user words', () => {
  it('never repeats the file name nor names the image library', () => {
    const text = pictureErrorText({ name: 'notes.txt', ok: false, code: 'unsupported', error: 'notes.txt: not a picture this app can read (unsupported format: it looks like text)' });
    expect(text.summary).toBe('This file is not a picture: it looks like text.');
    expect(text.summary).not.toMatch(/notes\.txt|sharp|libvips/);
    expect(text.detail).toBe('not a picture this app can read (unsupported format: it looks like text)');
  });

  it('says what to do with a damaged picture and keeps the technical detail aside', () => {
    const text = pictureErrorText({ name: 'a.jpg', ok: false, code: 'truncated', error: 'a.jpg: the file is truncated: ... (VipsJpeg: premature end of JPEG image)' });
    expect(text.summary).toMatch(/cut short.*Try saving or downloading it again/);
    expect(text.summary).not.toMatch(/Vips|a\.jpg/);
    expect(text.detail).toMatch(/VipsJpeg/);
  });

  it('uses the message itself, without the file name, when there is no code', () => {
    expect(pictureErrorText({ name: 'big.png', ok: false, error: 'big.png: the file is 30.0 MB; pictures up to 25 MB are accepted.' })).toEqual({
      summary: 'The file is 30.0 MB; pictures up to 25 MB are accepted.',
      detail: null,
    });
  });
});
