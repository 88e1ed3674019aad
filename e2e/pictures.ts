/**
 * Pictures for the drop test, made at test time: MNIST test digits as a phone would see them
 * (dark ink on white paper, larger than 28x28), plus files that must fail one by one.
 */
import sharp from 'sharp';
import { PIXELS } from '../main/ml/dataset.ts';
import { loadMnist } from '../main/ml/mnist.ts';

export interface TestPicture {
  name: string;
  bytes: Buffer;
  /** The true digit, or null for files that must be refused. */
  label: number | null;
  mimeType: string;
}

const SIZE = 112;

/** One MNIST test image of each digit 0-9 (the first of each in the test set), as PNGs. */
export async function mnistPictures(): Promise<TestPicture[]> {
  const { test } = await loadMnist();
  const pictures: TestPicture[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let index = 0;
    while (test.labels[index] !== digit) index++;
    const ink = test.images.subarray(index * PIXELS, (index + 1) * PIXELS);
    const paper = Buffer.from(ink.map((value) => 255 - value));
    const bytes = await sharp(paper, { raw: { width: 28, height: 28, channels: 1 } })
      .resize(SIZE, SIZE, { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    pictures.push({ name: `mnist-${digit}-test${index}.png`, bytes, label: digit, mimeType: 'image/png' });
  }
  return pictures;
}

/** A PNG signature followed by garbage, and a plain text file named like a picture's neighbour. */
export function brokenFiles(): TestPicture[] {
  const corrupt = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png'.repeat(8))]);
  return [
    { name: 'corrupt.png', bytes: corrupt, label: null, mimeType: 'image/png' },
    { name: 'notes.txt', bytes: Buffer.from('this is a text file, not a picture\n'), label: null, mimeType: 'text/plain' },
  ];
}
