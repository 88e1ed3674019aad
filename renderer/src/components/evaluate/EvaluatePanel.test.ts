import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { MyDigitsSummary } from '../../lib/contract.ts';
import { Evaluation } from '../../state/evaluation.svelte.ts';
import { MyDigits } from '../../state/myDigits.svelte.ts';
import { Notices } from '../../state/notices.svelte.ts';
import { createFakeApi, MODEL } from '../../test/fakeApi.ts';
import { myDigitsEvaluation, myDigitsSummary } from '../../test/myDigitsFixtures.ts';
import EvaluatePanel from './EvaluatePanel.svelte';

function setup(api = createFakeApi(), notices = new Notices(), collectionSummary: MyDigitsSummary | null = null) {
  const evaluation = new Evaluation(api, notices);
  const collection = new MyDigits(api, notices);
  collection.summary = collectionSummary;
  const onimport = vi.fn();
  const onshowpicture = vi.fn();
  render(EvaluatePanel, { props: { evaluation, collection, model: MODEL, importing: false, onimport, onshowpicture } });
  return { api, evaluation, collection, onimport, onshowpicture, notices };
}

/** A panel over a collection of `perDigit` pictures of each digit, whose evaluation the api answers. */
function setupMine(perDigit: number) {
  const summary = myDigitsSummary(perDigit);
  const api = createFakeApi({ evaluateMyDigits: vi.fn(async () => myDigitsEvaluation(summary)) });
  return setup(api, new Notices(), summary);
}

async function evaluateMine() {
  await fireEvent.click(screen.getByRole('radio', { name: /^My digits/ }));
  await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
  await screen.findByTestId('my-digits-accuracy');
}

async function evaluate() {
  await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
  await screen.findByTestId('test-accuracy');
}

describe('EvaluatePanel', () => {
  it('shows accuracy, loss, the confusion matrix and per-digit metrics', async () => {
    const { api } = setup();
    await evaluate();
    expect(api.evaluateModel).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('test-accuracy').textContent).toBe('98.11%');
    expect(screen.getByText('0.06120')).toBeTruthy();
    const cells = within(screen.getByRole('table', { name: /Confusion matrix/ })).getAllByRole('button');
    expect(cells).toHaveLength(100);
    expect(screen.getByRole('button', { name: 'True 3, predicted 5: 70 images' }).textContent?.trim()).toBe('70');
    const perDigit = screen.getByRole('table', { name: /Precision and recall/ });
    expect(within(perDigit).getAllByRole('row')).toHaveLength(11);
  });

  it('clicking a confusion cell requests that cell’s test images (the first 60) and shows them', async () => {
    const { api } = setup();
    await evaluate();
    api.getTestImages.mockClear();
    await fireEvent.click(screen.getByRole('button', { name: 'True 3, predicted 5: 70 images' }));
    expect(api.getTestImages).toHaveBeenCalledWith({ indices: Array.from({ length: 60 }, (_, k) => 1000 + k) });
    const gallery = await screen.findByRole('list', { name: 'Test images in the selected cell' });
    await waitFor(() => expect(within(gallery).getAllByTestId('test-image')).toHaveLength(60));
    expect(screen.getByText('Showing the first 60 of 70.')).toBeTruthy();
    expect(screen.getByRole('heading', { name: '3s mistaken for 5' })).toBeTruthy();
    const first = within(gallery).getAllByTestId('test-image')[0];
    expect(within(first).getByRole('img', { name: 'Test image 1000, a 3' })).toBeTruthy();
    expect(first.querySelector('.prediction')?.textContent).toBe('5');
  });

  it('moves between cells with the arrow keys and opens one with Enter', async () => {
    const { api } = setup();
    await evaluate();
    const start = screen.getByRole('button', { name: 'True 0, predicted 0: 950 images' });
    expect(start.tabIndex).toBe(0);
    start.focus();
    await fireEvent.keyDown(start, { key: 'ArrowDown' });
    await fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' });
    const focused = document.activeElement as HTMLButtonElement;
    expect(focused.getAttribute('aria-label')).toBe('True 1, predicted 1: 951 images');
    expect(focused.tabIndex).toBe(0);
    expect(start.tabIndex).toBe(-1);
    // A native button turns Enter into a click; jsdom does not, so click as the browser would.
    await fireEvent.click(focused);
    expect(api.getTestImages).toHaveBeenLastCalledWith({ indices: Array.from({ length: 50 }, (_, k) => 100 + k) });
    expect(focused.getAttribute('aria-pressed')).toBe('true');
  });

  it('shows the most confident mistakes', async () => {
    const { api } = setup();
    await evaluate();
    expect(api.getTestImages).toHaveBeenCalledWith({ indices: [42, 17] });
    const list = await screen.findByRole('list', { name: 'Most confident mistakes' });
    await waitFor(() => expect(within(list).getAllByTestId('test-image')).toHaveLength(2));
  });

  it('reports a failed evaluation as a readable message', async () => {
    const api = createFakeApi({ evaluateModel: vi.fn(async () => Promise.reject(new Error('no model: train one or import a model folder first'))) });
    const { notices } = setup(api);
    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    await waitFor(() => expect(notices.items[0]?.text).toBe('Could not evaluate the model: no model: train one or import a model folder first'));
  });

  it('asks to import a model folder', async () => {
    const { onimport } = setup();
    await fireEvent.click(screen.getByRole('button', { name: 'Import model folder…' }));
    expect(onimport).toHaveBeenCalledTimes(1);
  });

  it('colours mistakes by their share of the row, not the right answers; each cell says "7 read as 2: n of N"', async () => {
    setup();
    await evaluate();
    const right = screen.getByRole('button', { name: /^True 3, predicted 3: / });
    expect(right.getAttribute('style') ?? '').not.toMatch(/heat/);
    const mistake = screen.getByRole('button', { name: 'True 3, predicted 5: 70 images' });
    expect(mistake.getAttribute('style')).toMatch(/color-mix\(in srgb, var\(--heat-wrong\) \d+%, var\(--surface\)\)/);
    expect(mistake.getAttribute('title')).toMatch(/^3 read as 5: 70 of [\d,]+ \(\d+\.\d%\)$/);
    expect(screen.getByText('predicted digit →')).toBeTruthy();
    expect(screen.getByText('true digit →')).toBeTruthy();
    expect(document.getElementById('matrix-legend')?.textContent).toMatch(/share of the true digit's images/);
    expect(screen.getByTestId('per-digit-explain').textContent).toMatch(/The row in red is the digit the model finds hardest/);
  });

  it('shows progress while evaluating, and brings a picked cell\'s gallery into view', async () => {
    let finish: () => void = () => {};
    const base = createFakeApi();
    const api = createFakeApi({
      evaluateModel: vi.fn(async () => {
        await new Promise<void>((resolve) => (finish = resolve));
        return base.evaluateModel();
      }),
    });
    const { evaluation } = setup(api);
    const disconnect = evaluation.connect();
    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    expect((await screen.findByTestId('evaluation-progress')).textContent).toMatch(/Measuring the model/);
    // Until main reports, the bar is indeterminate; then it shows the test images read so far.
    const bar = () => screen.getByRole('progressbar', { name: 'Evaluating' }) as HTMLProgressElement;
    expect(bar().hasAttribute('value')).toBe(false);
    api.emit('evaluationProgress', { done: 4000, total: 10_000 });
    await waitFor(() => expect(bar().value).toBe(4000));
    expect(bar().max).toBe(10_000);
    expect(screen.getByTestId('evaluation-count').textContent).toBe('4,000 of 10,000');
    finish();
    await screen.findByTestId('test-accuracy');
    expect(screen.queryByTestId('evaluation-progress')).toBeNull();
    // A report after the evaluation ended (another window's run) is not kept for the next one.
    api.emit('evaluationProgress', { done: 500, total: 10_000 });
    expect(evaluation.progress).toBeNull();
    disconnect();

    const scrolled = vi.fn();
    Element.prototype.scrollIntoView = scrolled;
    await fireEvent.click(screen.getByRole('button', { name: 'True 3, predicted 5: 70 images' }));
    await waitFor(() => expect(scrolled).toHaveBeenCalled());
    expect((scrolled.mock.contexts[0] as HTMLElement).getAttribute('aria-labelledby')).toBe('gallery-title');
  });

  it('offers My digits beside MNIST, disabled with a reason while the collection is empty', () => {
    setup();
    const mnist = screen.getByRole('radio', { name: 'MNIST test set (10,000 pictures)' }) as HTMLInputElement;
    const mine = screen.getByRole('radio', { name: 'My digits (0 pictures)' }) as HTMLInputElement;
    expect(mnist.checked).toBe(true);
    expect(mine.disabled).toBe(true);
    expect(document.getElementById(mine.getAttribute('aria-describedby')!)?.textContent).toMatch(/add pictures in the My digits tab first/);
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Evaluate on the MNIST test set');
  });

  it('evaluates on My digits: its own title, accuracy, confusion matrix and per-digit table; never MNIST figures under its name', async () => {
    const { api } = setupMine(3);
    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    await screen.findByTestId('test-accuracy');
    await fireEvent.click(screen.getByRole('radio', { name: 'My digits (30 pictures)' }));
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Evaluate on My digits');
    // The MNIST results are not shown under the My digits title, and My digits has none yet.
    expect(screen.queryByTestId('test-accuracy')).toBeNull();
    expect(screen.getByText(/Not evaluated on My digits yet/)).toBeTruthy();

    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    await screen.findByTestId('my-digits-accuracy');
    expect(api.evaluateMyDigits).toHaveBeenCalledTimes(1);
    expect(api.evaluateModel).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('my-digits-accuracy').textContent).toBe('93.33%');
    expect(screen.getByText('Accuracy on My digits')).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Confusion matrix (My digits)' })).toBeTruthy();
    const matrix = screen.getByRole('table', { name: /Confusion matrix/ });
    expect(within(matrix).getByRole('button', { name: 'True 1, predicted 7: 1 picture' }).textContent?.trim()).toBe('1');
    expect(within(matrix).getByRole('button', { name: 'True 0, predicted 0: 3 pictures' })).toBeTruthy();
    expect(within(screen.getByRole('table', { name: /Precision and recall/ })).getAllByRole('row')).toHaveLength(11);
    // The unreadable file is listed with its error.
    const failed = screen.getByRole('list', { name: 'Files that cannot be read' });
    expect(failed.textContent).toBe('4/torn.jpg: torn.jpg: the file is cut short (truncated)');

    // Back on MNIST: its own figures, none of My digits'.
    await fireEvent.click(screen.getByRole('radio', { name: /^MNIST test set/ }));
    expect(screen.getByTestId('test-accuracy').textContent).toBe('98.11%');
    expect(screen.queryByTestId('my-digits-accuracy')).toBeNull();
    expect(screen.getByRole('heading', { name: 'Confusion matrix (MNIST test set)' })).toBeTruthy();
  });

  it('says what a small collection can and cannot tell (30 pictures: 3.3 points each), and not for 10 of each digit', async () => {
    setupMine(3);
    await evaluateMine();
    const caveat = screen.getByTestId('small-set-caveat');
    expect(caveat.textContent).toMatch(/only 30 pictures: each picture read right or wrong moves the accuracy by 3\.3 points/);
    expect(caveat.textContent).toMatch(/can only be 0%, 33%, 67%, 100%/);
    cleanup();
    setupMine(10);
    await evaluateMine();
    expect(screen.getByTestId('my-digits-accuracy').textContent).toBe('98.00%');
    expect(screen.queryByTestId('small-set-caveat')).toBeNull();
  });

  it('shows each mistake as the user’s picture with its file, filed and read digits, and a link back to it in My digits', async () => {
    const { onshowpicture } = setupMine(3);
    await evaluateMine();
    const mistakes = screen.getByRole('list', { name: 'My digits it misread' });
    const cards = within(mistakes).getAllByTestId('picture-reading');
    expect(cards.map((card) => card.getAttribute('data-file'))).toEqual(['1/drawn-1-0.png', '3/drawn-3-0.png']);
    const first = cards[0];
    expect(within(first).getByRole('img', { name: 'The picture as filed: 1/drawn-1-0.png' })).toBeTruthy();
    expect(within(first).getByRole('img', { name: 'What the model sees for 1/drawn-1-0.png' })).toBeTruthy();
    expect(first.textContent).toMatch(/Filed as\s*1/);
    expect(first.textContent).toMatch(/Read as\s*7\s*\(92% sure\)/);
    await fireEvent.click(within(first).getByRole('button', { name: 'Show in My digits: 1/drawn-1-0.png' }));
    expect(onshowpicture).toHaveBeenCalledWith('1/drawn-1-0.png');
    expect(screen.getByText('/workspace/my-digits').tagName).toBe('CODE');

    // A confusion cell shows the pictures in it.
    await fireEvent.click(screen.getByRole('button', { name: 'True 3, predicted 8: 1 picture' }));
    expect(screen.getByRole('heading', { name: 'Your 3s mistaken for 8' })).toBeTruthy();
    const cell = screen.getByRole('list', { name: 'My digits in the selected cell' });
    expect(within(cell).getAllByTestId('picture-reading').map((card) => card.getAttribute('data-file'))).toEqual(['3/drawn-3-0.png']);
    await fireEvent.click(screen.getByRole('button', { name: 'True 2, predicted 2: 3 pictures' }));
    expect(within(screen.getByRole('list', { name: 'My digits in the selected cell' })).getAllByTestId('picture-reading')).toHaveLength(3);
  });

  it('a picture removed from the collection since keeps its result but loses the link', async () => {
    const { collection } = setupMine(3);
    await evaluateMine();
    const summary = collection.summary!;
    // What removing it does to the collection (MyDigits also drops its evaluation then; here only the list changes).
    collection.summary = { ...summary, items: summary.items.filter((item) => item.file !== '1/drawn-1-0.png') };
    const first = await waitFor(() => {
      const card = within(screen.getByRole('list', { name: 'My digits it misread' })).getAllByTestId('picture-reading')[0];
      expect(card.textContent).toMatch(/No longer in My digits/);
      return card;
    });
    expect(within(first).queryByRole('button')).toBeNull();
  });

  it('lists the collection again when the evaluation found pictures added outside the app (thumbnails and count follow)', async () => {
    const onDisk = myDigitsSummary(3);
    const listed = { ...onDisk, items: onDisk.items.slice(1), perDigit: [2, 3, 3, 3, 3, 3, 3, 3, 3, 3] };
    const api = createFakeApi({ evaluateMyDigits: vi.fn(async () => myDigitsEvaluation(onDisk)), listMyDigits: vi.fn(async () => onDisk) });
    setup(api, new Notices(), listed);
    expect(screen.getByRole('radio', { name: 'My digits (29 pictures)' })).toBeTruthy();
    await evaluateMine();
    await waitFor(() => expect(api.listMyDigits).toHaveBeenCalledTimes(1));
    expect(await screen.findByRole('radio', { name: 'My digits (30 pictures)' })).toBeTruthy();
    // An evaluation that matches the listing asks for nothing more.
    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    await waitFor(() => expect(api.evaluateMyDigits).toHaveBeenCalledTimes(2));
    expect(api.listMyDigits).toHaveBeenCalledTimes(1);
  });
});
