import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImageUpload, PredictionItem } from '../../lib/contract.ts';
import { Notices } from '../../state/notices.svelte.ts';
import { Predictions } from '../../state/predictions.svelte.ts';
import { contextCalls, FAKE_PNG } from '../../test/setup.ts';
import { APP_INFO, createFakeApi, MODEL } from '../../test/fakeApi.ts';
import PredictPanel from './PredictPanel.svelte';

const probabilities = (digit: number) => Array.from({ length: 10 }, (_, d) => (d === digit ? 0.91 : 0.01));

/** Main's answer: files named bad* fail, the others read as the digit in their name. */
function answer({ files }: { files: ImageUpload[] }): Promise<PredictionItem[]> {
  return Promise.resolve(
    files.map((file): PredictionItem =>
      file.name.startsWith('bad')
        ? { name: file.name, ok: false, error: `${file.name}: not a picture (the file is not PNG, JPEG, WebP, GIF or TIFF)`, code: 'unsupported' }
        : { name: file.name, ok: true, digit: Number(file.name.match(/\d/)?.[0] ?? 0), confidence: 0.91, probabilities: probabilities(Number(file.name.match(/\d/)?.[0] ?? 0)), input: new Uint8Array(784).fill(200), doubts: [], row: [] },
    ),
  );
}

function setup() {
  const api = createFakeApi({ predictImages: vi.fn(answer) });
  const notices = new Notices();
  const predictions = new Predictions(api, { create: (blob) => `blob:test/${(blob as File).name ?? 'drawing'}`, revoke: vi.fn() });
  render(PredictPanel, { props: { predictions, model: MODEL, notices } });
  return { api, predictions, notices };
}

const picture = (name: string) => new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, name.length])], name, { type: 'image/png' });

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('PredictPanel', () => {
  it('renders a result card per file: successes with digit, confidence and input, failures with their own error', async () => {
    setup();
    const input = screen.getByTestId('file-input') as HTMLInputElement;
    await fireEvent.change(input, { target: { files: [picture('seven-7.png'), picture('bad.txt'), picture('three-3.png')] } });

    await waitFor(() => expect(screen.getAllByTestId('prediction-ok')).toHaveLength(2));
    const errors = screen.getAllByTestId('prediction-error');
    expect(errors).toHaveLength(1);
    // In user words, without repeating the file name the card already shows.
    expect(within(errors[0]).getByRole('status').textContent).toBe('This file is not a picture this app can open. Pictures in PNG, JPEG, WebP, GIF, TIFF or SVG work.');

    const seven = screen.getAllByTestId('prediction-ok')[0];
    expect(within(seven).getByLabelText('Predicted digit').textContent).toBe('7');
    expect(within(seven).getByTestId('confidence').textContent).toBe('91.0%');
    expect(within(seven).getByRole('img', { name: 'Original picture seven-7.png' }).getAttribute('src')).toBe('blob:test/seven-7.png');
    const modelInput = within(seven).getByRole('img', { name: 'What the model sees for seven-7.png' }).querySelector('canvas')!;
    expect(contextCalls(modelInput).some((call) => call.method === 'putImageData')).toBe(true);
    expect(within(seven).getByRole('list', { name: 'Most likely digits' }).children).toHaveLength(3);
    expect(screen.getByText('2 of 3 read')).toBeTruthy();
  });

  it('sends many files in chunks of 16 and shows progress', async () => {
    const { api, predictions } = setup();
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `digit-${i % 10}.png`, file: picture(`digit-${i % 10}.png`) }));
    const done = predictions.predict(files);
    expect(await screen.findByText(/Reading 0 of 40/)).toBeTruthy();
    await done;
    expect(api.predictImages.mock.calls.map(([payload]) => payload.files.length)).toEqual([16, 16, 8]);
    expect(api.predictImages.mock.calls[0][0].files[0].bytes).toBeInstanceOf(Uint8Array);
    await waitFor(() => expect(screen.getAllByTestId('prediction-ok')).toHaveLength(40));
    expect(screen.queryByText(/Reading/)).toBeNull();
  });

  it("keeps each request within main's byte limit, and refuses an oversized picture on its own card", async () => {
    const { api, predictions } = setup();
    const { maxPictureBytes, maxRequestBytes } = APP_INFO.limits;
    // Sizes as main's limits see them; the bytes behind them stay small.
    const sized = (name: string, size: number) => {
      const file = picture(name);
      Object.defineProperty(file, 'size', { value: size });
      return { name, file };
    };
    const large = Math.floor(maxRequestBytes * 0.4);
    expect(large).toBeLessThanOrEqual(maxPictureBytes);
    await predictions.predict([sized('a-1.png', large), sized('b-2.png', large), sized('huge-3.png', maxPictureBytes + 1), sized('c-4.png', large)]);

    const sent = api.predictImages.mock.calls.map(([payload]) => payload.files.map((f) => f.name));
    expect(sent).toEqual([['a-1.png', 'b-2.png'], ['c-4.png']]);
    await waitFor(() => expect(screen.getAllByTestId('prediction-ok')).toHaveLength(3));
    const errors = screen.getAllByTestId('prediction-error');
    expect(errors).toHaveLength(1);
    expect(within(errors[0]).getByRole('status').textContent).toMatch(/^The file is 25\.1 MB; pictures up to 25\.0 MB are accepted/);
  });

  it('a failed request marks only its own files as failed', async () => {
    const { api, predictions } = setup();
    api.predictImages.mockImplementationOnce(() => Promise.reject(new Error('predictImages: lost the connection to the Digit Studio server')));
    await predictions.predict(Array.from({ length: 20 }, (_, i) => ({ name: `digit-${i % 10}.png`, file: picture(`d${i}.png`) })));
    await waitFor(() => expect(screen.getAllByTestId('prediction-error')).toHaveLength(16));
    expect(screen.getAllByTestId('prediction-ok')).toHaveLength(4);
    expect(screen.getAllByTestId('prediction-error')[0].textContent).toContain('lost the connection');
  });

  it('saves the results as a CSV file', async () => {
    const { predictions } = setup();
    await predictions.predict([
      { name: 'seven-7.png', file: picture('seven-7.png') },
      { name: 'bad.gif', file: picture('bad.gif') },
    ]);
    let saved: Blob | null = null;
    const createObjectURL = vi.fn((blob: Blob) => {
      saved = blob;
      return 'blob:csv';
    });
    // A stand-in URL class (jsdom has no createObjectURL); afterEach puts the real one back.
    vi.stubGlobal('URL', class extends URL {
      static override createObjectURL = createObjectURL;
      static override revokeObjectURL = vi.fn();
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe('digit-predictions.csv');
      expect(this.href).toBe('blob:csv');
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Save as CSV' }));
    expect(click).toHaveBeenCalledTimes(1);
    const text = new TextDecoder().decode(await (saved! as Blob).arrayBuffer());
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('file,digit,confidence,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,error');
    expect(lines[1]).toMatch(/^seven-7\.png,7,0\.9100,/);
    expect(lines[2]).toMatch(/^bad\.gif,{13}"bad\.gif: not a picture/);
  });

  it('copies the results to the clipboard', async () => {
    const { predictions, notices } = setup();
    await predictions.predict([{ name: 'seven-7.png', file: picture('seven-7.png') }]);
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await fireEvent.click(screen.getByRole('button', { name: 'Copy results' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith('file\tdigit\tconfidence\nseven-7.png\t7\t91.0%\n'));
    expect(notices.items[0].text).toBe('Copied 1 result to the clipboard.');
  });

  it('falls back to the copy command when the Clipboard API is refused, and says so when both fail', async () => {
    const { predictions, notices } = setup();
    await predictions.predict([{ name: 'seven-7.png', file: picture('seven-7.png') }]);
    const refused = Object.assign(new Error('Write permission denied.'), { name: 'NotAllowedError' });
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: vi.fn(async () => Promise.reject(refused)) }, configurable: true });
    let copied = '';
    const execCommand = vi.fn((command: string) => {
      copied = (document.activeElement as HTMLTextAreaElement).value;
      return command === 'copy';
    });
    Object.defineProperty(document, 'execCommand', { value: execCommand, configurable: true });
    await fireEvent.click(screen.getByRole('button', { name: 'Copy results' }));
    await waitFor(() => expect(notices.items.at(-1)?.text).toBe('Copied 1 result to the clipboard.'));
    expect(copied).toBe('file\tdigit\tconfidence\nseven-7.png\t7\t91.0%\n');

    execCommand.mockReturnValue(false);
    await fireEvent.click(screen.getByRole('button', { name: 'Copy results' }));
    await waitFor(() => expect(notices.items.at(-1)?.text).toBe('Could not copy to the clipboard: Write permission denied.'));
  });

  it('reads the drawing live while drawing, adds it to the results on request, and keeps it when the ink colour changes', async () => {
    const { api } = setup();
    const canvas = screen.getByTestId('drawing-canvas') as HTMLCanvasElement;
    const add = screen.getByRole('button', { name: 'Add to results' }) as HTMLButtonElement;
    expect(add.disabled).toBe(true); // nothing drawn yet
    expect(screen.getByText('Draw a digit here')).toBeTruthy();
    await fireEvent.pointerDown(canvas, { clientX: 10, clientY: 10, button: 0, pointerId: 1 });
    await fireEvent.pointerMove(canvas, { clientX: 60, clientY: 90, pointerId: 1 });
    const strokes = contextCalls(canvas).filter((call) => call.method === 'stroke');
    expect(strokes.length).toBeGreaterThanOrEqual(2);
    expect(add.disabled).toBe(false);
    expect(screen.queryByText('Draw a digit here')).toBeNull();
    // Live: read while the pen is still down, without adding a card.
    await waitFor(() => expect(screen.getByTestId('live-prediction').textContent).toMatch(/Looks like\s*0\s*\(91%\)/));
    expect(api.predictImages.mock.calls[0][0].files[0].name).toBe('drawing.png');
    expect(screen.queryAllByTestId('prediction-ok')).toHaveLength(0);
    await fireEvent.pointerUp(canvas, { pointerId: 1 });

    // Switching the ink inverts the drawing in place instead of wiping it.
    await fireEvent.click(screen.getByRole('radio', { name: 'Black on white' }));
    expect(contextCalls(canvas).some((call) => call.method === 'getImageData')).toBe(true);
    expect(add.disabled).toBe(false);

    await fireEvent.click(add);
    await waitFor(() => expect(api.predictImages.mock.calls.some(([payload]) => payload.files[0].name === 'drawing 1.png')).toBe(true));
    const kept = api.predictImages.mock.calls.find(([payload]) => payload.files[0].name === 'drawing 1.png')![0];
    expect(Array.from(kept.files[0].bytes)).toEqual(Array.from(FAKE_PNG));
    await waitFor(() => expect(screen.getAllByTestId('prediction-ok')).toHaveLength(1));

    await fireEvent.click(screen.getByRole('button', { name: 'Clear drawing' }));
    expect(add.disabled).toBe(true);
    expect(screen.getByTestId('live-prediction').textContent).toMatch(/appears here as you draw/);
  });

  it('shows the newest results first', async () => {
    const { predictions } = setup();
    await predictions.predict([{ name: 'one-1.png', file: picture('one-1.png') }, { name: 'two-2.png', file: picture('two-2.png') }]);
    await predictions.predict([{ name: 'three-3.png', file: picture('three-3.png') }]);
    await waitFor(() => expect(screen.getAllByTestId('prediction-ok')).toHaveLength(3));
    expect(screen.getAllByTestId('prediction-ok').map((card) => card.querySelector('.name')?.textContent)).toEqual(['three-3.png', 'one-1.png', 'two-2.png']);
  });
});

describe('PredictionCard honesty', () => {
  function show(item: PredictionItem) {
    const api = createFakeApi({ predictImages: vi.fn(async () => [item]) });
    const predictions = new Predictions(api, { create: () => null, revoke: vi.fn() });
    render(PredictPanel, { props: { predictions, model: MODEL, notices: new Notices() } });
    void predictions.predict([{ name: item.name, file: picture(item.name) }]);
    return screen.findByTestId(item.ok ? 'prediction-ok' : 'prediction-error');
  }
  const base = { ok: true as const, probabilities: probabilities(2), input: new Uint8Array(784) };

  it('marks a low-confidence answer as not sure, in words and not by colour alone', async () => {
    const card = await show({ ...base, name: 'photo.jpg', digit: 2, confidence: 0.64, doubts: ['low-confidence'], row: [] });
    expect(within(card).getByTestId('unsure').textContent).toBe('not sure');
    expect(within(card).getByTestId('doubt').textContent).toMatch(/Not sure/);
  });

  it('says when the ink is unlike pen strokes', async () => {
    const card = await show({ ...base, name: 'landscape.jpg', digit: 2, confidence: 0.95, doubts: ['unlike-strokes'], row: [] });
    expect(within(card).getByTestId('doubt').textContent).toMatch(/does not look like a handwritten digit/);
    expect(within(card).getByTestId('unsure')).toBeTruthy();
  });

  it('shows a row of digits as the number, each digit with its confidence', async () => {
    const digit = (d: number, confidence: number) => ({ digit: d, confidence, unsure: confidence < 0.9, input: new Uint8Array(784) });
    const card = await show({ ...base, name: 'year.png', digit: 4, confidence: 0.98, doubts: ['several-digits'], row: [digit(2, 0.99), digit(0, 0.97), digit(2, 0.6), digit(4, 0.95)] });
    expect(within(card).getByLabelText('Read as the number 2024').textContent).toBe('2024');
    const digits = within(within(card).getByRole('list', { name: 'Each digit' })).getAllByRole('listitem');
    expect(digits.map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual(['2 99.0%', '0 97.0%', '2 60.0%', '4 95.0%']);
    expect(digits[2].classList.contains('unsure')).toBe(true);
    expect(within(card).queryByTestId('confidence')).toBeNull(); // not the misleading single "4 at 98%"
  });
});
