import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { Evaluation } from '../../state/evaluation.svelte.ts';
import { Notices } from '../../state/notices.svelte.ts';
import { createFakeApi, MODEL } from '../../test/fakeApi.ts';
import EvaluatePanel from './EvaluatePanel.svelte';

function setup(api = createFakeApi(), notices = new Notices()) {
  const evaluation = new Evaluation(api, notices);
  const onimport = vi.fn();
  render(EvaluatePanel, { props: { evaluation, model: MODEL, importing: false, onimport } });
  return { api, evaluation, onimport, notices };
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
    setup(api);
    await fireEvent.click(screen.getByRole('button', { name: 'Evaluate' }));
    expect((await screen.findByTestId('evaluation-progress')).textContent).toMatch(/Measuring the model/);
    finish();
    await screen.findByTestId('test-accuracy');
    expect(screen.queryByTestId('evaluation-progress')).toBeNull();

    const scrolled = vi.fn();
    Element.prototype.scrollIntoView = scrolled;
    await fireEvent.click(screen.getByRole('button', { name: 'True 3, predicted 5: 70 images' }));
    await waitFor(() => expect(scrolled).toHaveBeenCalled());
    expect((scrolled.mock.contexts[0] as HTMLElement).getAttribute('aria-labelledby')).toBe('gallery-title');
  });
});
