import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MyDigits } from '../../state/myDigits.svelte.ts';
import { Notices } from '../../state/notices.svelte.ts';
import { MODEL } from '../../test/fakeApi.ts';
import { fakeCollectionMain } from '../../test/fakeCollection.ts';
import MyDigitCard from './MyDigitCard.svelte';
import MyDigitsPanel from './MyDigitsPanel.svelte';

function setup(files: string[] = []) {
  const main = fakeCollectionMain(files);
  const notices = new Notices();
  const collection = new MyDigits(main.api, notices);
  const onpreview = vi.fn(async () => ({ name: 'drawing.png', ok: false as const, error: 'not in this test' }));
  render(MyDigitsPanel, { props: { collection, model: MODEL, onpreview } });
  return { ...main, collection, notices };
}

const counts = () => Array.from({ length: 10 }, (_, digit) => Number(screen.getByTestId(`count-${digit}`).textContent));
const cards = () => screen.queryAllByTestId('my-digit').map((card) => card.dataset.file);

/** Draws one stroke on the teach-mode pad, as a mouse would. */
async function drawStroke() {
  const canvas = screen.getByTestId('drawing-canvas');
  await fireEvent.pointerDown(canvas, { clientX: 10, clientY: 10, button: 0, pointerId: 1 });
  await fireEvent.pointerMove(canvas, { clientX: 60, clientY: 90, pointerId: 1 });
  await fireEvent.pointerUp(canvas, { pointerId: 1 });
}

/** jsdom has no object URLs; a window does. */
function stubObjectUrls(url: string, revoke: (url: string) => void) {
  vi.stubGlobal(
    'URL',
    class extends URL {
      static override createObjectURL = () => url;
      static override revokeObjectURL = revoke;
    },
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('MyDigitsPanel', () => {
  it('shows the count of each digit and a card per picture; relabel and remove change both', async () => {
    stubObjectUrls('blob:thumb', vi.fn());
    const { api } = setup(['7/a.png', '7/b.png', '1/c.png']);
    await waitFor(() => expect(counts()).toEqual([0, 1, 0, 0, 0, 0, 0, 2, 0, 0]));
    expect(screen.getByRole('heading', { name: /My digits/ }).textContent).toMatch(/3 pictures/);
    expect(cards()).toEqual(['7/a.png', '7/b.png', '1/c.png']);

    await fireEvent.change(screen.getByRole('combobox', { name: 'Digit of 7/a.png' }), { target: { value: '1' } });
    await waitFor(() => expect(counts()).toEqual([0, 2, 0, 0, 0, 0, 0, 1, 0, 0]));
    expect(api.relabelMyDigit).toHaveBeenCalledWith({ file: '7/a.png', label: 1 });
    expect(cards()).toContain('1/a.png');

    await fireEvent.click(screen.getByRole('button', { name: 'Remove 7/b.png' }));
    await waitFor(() => expect(cards()).toEqual(['1/a.png', '1/c.png']));
    expect(counts()[7]).toBe(0);
    expect(api.removeMyDigit).toHaveBeenCalledWith({ file: '7/b.png' });
  });

  it('teach mode asks for each digit in turn, N times, and files each drawing under it', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.listMyDigits).toHaveBeenCalled());
    await fireEvent.input(screen.getByLabelText('Drawings of each digit'), { target: { value: '2' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Start teaching' }));
    const ask = () => screen.getByTestId('teach-digit').closest('p')!.textContent?.replace(/\s+/g, ' ').trim();
    expect(ask()).toBe('Draw a 0 (1 of 2)');
    const save = () => screen.getByRole('button', { name: /^Save as \d$/ }) as HTMLButtonElement;
    expect(save().disabled).toBe(true); // nothing drawn yet

    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(ask()!);
      await drawStroke();
      await fireEvent.click(save());
      await waitFor(() => expect(api.addMyDigits).toHaveBeenCalledTimes(i + 1));
    }
    await waitFor(() => expect(ask()).toBe('Draw a 2 (1 of 2)'));
    expect(seen).toEqual(['Draw a 0 (1 of 2)', 'Draw a 0 (2 of 2)', 'Draw a 1 (1 of 2)', 'Draw a 1 (2 of 2)']);
    expect(api.addMyDigits.mock.calls.map(([payload]) => payload.pictures[0].label)).toEqual([0, 0, 1, 1]);
    expect(counts()).toEqual([2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    // The pad is cleared after each drawing is filed.
    expect(save().disabled).toBe(true);

    await fireEvent.click(screen.getByRole('button', { name: 'Stop teaching' }));
    expect(screen.getByRole('button', { name: 'Start teaching' })).toBeTruthy();
    expect(screen.queryByTestId('teach-digit')).toBeNull();
  });

  it('adds a chosen folder: a bad file fails alone with its error, the good ones are counted', async () => {
    const { api, notices } = setup();
    await waitFor(() => expect(api.listMyDigits).toHaveBeenCalled());
    const file = (path: string) => Object.defineProperty(new File([new Uint8Array([1, 2])], path.split('/').at(-1)!, { type: 'image/png' }), 'webkitRelativePath', { value: path });
    const input = document.querySelector('input[webkitdirectory]') as HTMLInputElement;
    Object.defineProperty(input, 'files', { value: [file('mine/4/a.png'), file('mine/4/bad.png'), file('mine/9/b.png')], configurable: true });
    await fireEvent.change(input);
    await waitFor(() => expect(counts()).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 1]));
    expect(api.importMyDigits.mock.calls[0][0].files.map((f) => f.path)).toEqual(['mine/4/a.png', 'mine/4/bad.png', 'mine/9/b.png']);
    const errors = notices.items.filter((n) => n.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].text).toMatch(/Not added: mine\/4\/bad\.png.*not a picture/);
  });
});

describe('MyDigitCard', () => {
  const item = { file: '3/x-1.png', label: 3, picture: new Uint8Array([0x89, 0x50]), input: new Uint8Array(784) };

  it('shows the picture as filed and what the model sees, and "read as" when the model got it wrong', () => {
    const revoke = vi.fn();
    stubObjectUrls('blob:thumb-1', revoke);
    const view = render(MyDigitCard, { props: { item, misread: 8, disabled: false, onremove: vi.fn(), onrelabel: vi.fn() } });
    const card = screen.getByTestId('my-digit');
    expect((within(card).getByRole('img', { name: 'The picture as filed: 3/x-1.png' }) as HTMLImageElement).src).toBe('blob:thumb-1');
    expect(within(card).getByText('read as 8')).toBeTruthy();
    expect(card.classList.contains('misread')).toBe(true);
    expect((within(card).getByRole('combobox', { name: 'Digit of 3/x-1.png' }) as HTMLSelectElement).value).toBe('3');
    view.unmount();
    expect(revoke).toHaveBeenCalledWith('blob:thumb-1');
  });

  it('says "large file" instead of a thumbnail, and its controls call back with the chosen digit', async () => {
    const onrelabel = vi.fn();
    const onremove = vi.fn();
    render(MyDigitCard, { props: { item: { ...item, picture: null }, disabled: false, onremove, onrelabel } });
    expect(screen.getByText('large file')).toBeTruthy();
    expect(screen.queryByText(/read as/)).toBeNull();
    await fireEvent.change(screen.getByRole('combobox', { name: 'Digit of 3/x-1.png' }), { target: { value: '5' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Remove 3/x-1.png' }));
    expect(onrelabel).toHaveBeenCalledWith(5);
    expect(onremove).toHaveBeenCalledTimes(1);
  });

  it('disables relabel and remove while the collection is busy', () => {
    render(MyDigitCard, { props: { item: { ...item, picture: null }, disabled: true, onremove: vi.fn(), onrelabel: vi.fn() } });
    expect((screen.getByRole('button', { name: 'Remove 3/x-1.png' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('combobox', { name: 'Digit of 3/x-1.png' }) as HTMLSelectElement).disabled).toBe(true);
  });
});
