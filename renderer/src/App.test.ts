import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import type { ModelInfo, PredictionItem } from './lib/contract.ts';
import { APP_INFO, createFakeApi, MODEL } from './test/fakeApi.ts';
import { myDigitsEvaluation, myDigitsSummary } from './test/myDigitsFixtures.ts';

vi.mock('uplot', () => ({
  default: class {
    width = 600;
    setData() {}
    setSize() {}
    destroy() {}
  },
}));

function fileDrop(files: File[]): Event {
  const event = new Event('drop', { bubbles: true, cancelable: true });
  Object.defineProperty(event, 'dataTransfer', {
    value: { types: ['Files'], files, items: files.map((file) => ({ kind: 'file', type: file.type })) },
  });
  return event;
}

afterEach(() => vi.restoreAllMocks());

/** The window with a model and a "My digits" collection of 3 pictures per digit (two of them misread). */
function renderWithMyDigits() {
  const summary = myDigitsSummary(3);
  const api = createFakeApi({
    getCurrentModel: vi.fn(async () => MODEL),
    listMyDigits: vi.fn(async () => summary),
    evaluateMyDigits: vi.fn(async () => myDigitsEvaluation(summary)),
  });
  render(App, { props: { api } });
  return api;
}

describe('App', () => {
  it('shows the backend (and why), the current model, and five areas to move between with the keyboard', async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) });
    render(App, { props: { api } });
    const backend = await screen.findByText('WebAssembly');
    const summary = backend.closest('summary')!;
    expect(summary.getAttribute('title')).toBe(APP_INFO.backend.reason);
    const details = summary.closest('details')!;
    await fireEvent.click(summary);
    expect(details.open).toBe(true);
    expect(within(details).getByText(APP_INFO.backend.reason)).toBeTruthy();
    await fireEvent.keyDown(details, { key: 'Escape' });
    expect(details.open).toBe(false);
    expect(await screen.findByText('98.10% test', { exact: false })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Export model' })).toBeTruthy();

    const tabs = screen.getAllByRole('tab');
    expect(tabs.map((tab) => tab.textContent?.trim())).toEqual(['Train', 'Evaluate', 'Predict', 'My digits', 'Models & runs']);
    expect(tabs[0].getAttribute('aria-selected')).toBe('true');
    tabs[0].focus();
    await fireEvent.keyDown(tabs[0], { key: 'ArrowRight' });
    expect(tabs[1].getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(tabs[1]);
    expect((document.getElementById('panel-evaluate') as HTMLElement).hidden).toBe(false);
    expect((document.getElementById('panel-train') as HTMLElement).hidden).toBe(true);
    await fireEvent.keyDown(tabs[1], { key: 'End' });
    expect(tabs[4].getAttribute('aria-selected')).toBe('true');
    await fireEvent.keyDown(tabs[4], { key: 'ArrowRight' });
    expect(tabs[0].getAttribute('aria-selected')).toBe('true');
  });

  it('has no export button until a model exists, and follows modelChanged', async () => {
    const api = createFakeApi();
    render(App, { props: { api } });
    await screen.findByText(/No model yet/);
    expect(screen.queryByRole('button', { name: 'Export model' })).toBeNull();
    api.emit('modelChanged', MODEL);
    expect(await screen.findByRole('button', { name: 'Export model' })).toBeTruthy();
  });

  it('in browser mode, export is a download of one zip, and a failure shows inside the dialog', async () => {
    const saved: [string, Blob][] = [];
    const api = createFakeApi({
      getAppInfo: vi.fn(async () => ({ ...APP_INFO, shell: 'browser' as const })),
      getCurrentModel: vi.fn(async () => MODEL),
    });
    api.downloadModel.mockRejectedValueOnce({ message: 'No model to export yet: train one or import a model folder first.', code: 'no-model' });
    const { container } = render(App, { props: { api } });
    // The download itself goes through an <a download>: record what the page would save.
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push([this.download, new Blob()]);
    });
    URL.createObjectURL ??= () => 'blob:zip';
    URL.revokeObjectURL ??= () => undefined;
    await fireEvent.click(await screen.findByRole('button', { name: 'Export model' }));
    const dialog = screen.getByRole('dialog', { name: 'Export the model' });
    expect(within(dialog).queryByRole('textbox')).toBeNull(); // no server path to type
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Download .zip' }));
    expect(await within(dialog).findByRole('alert')).toHaveProperty('textContent', 'No model to export yet: train one or import a model folder first.');
    expect(container.ownerDocument.querySelectorAll('[data-testid="notice"], .notice').length).toBe(0);

    await fireEvent.click(within(dialog).getByRole('button', { name: 'Download .zip' }));
    expect(await screen.findByText('Model downloaded as digit-model-fast-2026-11-25.zip.')).toBeTruthy();
    expect(saved.map(([name]) => name)).toEqual(['digit-model-fast-2026-11-25.zip']);
    expect(api.exportModel).not.toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('in browser mode, Import (beside Export) uploads the chosen files and keeps errors in its dialog', async () => {
    const api = createFakeApi({ getAppInfo: vi.fn(async () => ({ ...APP_INFO, shell: 'browser' as const })) });
    api.uploadModel.mockRejectedValueOnce({ message: 'Not a model: no model.json among notes.txt.', code: 'invalid-payload' });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByRole('button', { name: 'Import model' }));
    const dialog = screen.getByRole('dialog', { name: 'Import a model' });
    const input = within(dialog).getByTestId('model-files-input') as HTMLInputElement;
    await fireEvent.change(input, { target: { files: [new File(['x'], 'notes.txt')] } });
    expect(await within(dialog).findByRole('alert')).toHaveProperty('textContent', 'Not a model: no model.json among notes.txt.');

    const files = [new File(['{}'], 'model.json'), new File([new Uint8Array([1, 2])], 'weights.bin')];
    await fireEvent.change(input, { target: { files } });
    await waitFor(() => expect(api.uploadModel).toHaveBeenCalledTimes(2));
    const sent = api.uploadModel.mock.calls[1][0].files;
    expect(sent.map((f) => [f.name, Array.from(f.bytes)])).toEqual([
      ['model.json', [123, 125]],
      ['weights.bin', [1, 2]],
    ]);
    expect(await screen.findByText('Imported the model from model.json, weights.bin.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.importModel).not.toHaveBeenCalled();
  });

  it('in Electron, export and import let main show its dialogs, with no path from the window', async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) });
    api.importModel.mockRejectedValueOnce({ message: '/models/x: not a TensorFlow.js layers model', code: 'invalid-payload' });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByRole('button', { name: 'Export model' }));
    expect(api.exportModel).toHaveBeenCalledWith();
    expect(await screen.findByText('Model exported to /chosen.')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Import model' }));
    expect(api.importModel).toHaveBeenCalledWith();
    const failed = await screen.findByRole('dialog', { name: 'Could not import the model' });
    expect(within(failed).getByRole('alert').textContent).toBe('/models/x: not a TensorFlow.js layers model');
  });

  it('a file dropped anywhere switches to Predict and reads it', async () => {
    const item: PredictionItem = { name: 'four.png', ok: true, digit: 4, confidence: 0.8, probabilities: [0, 0, 0, 0, 0.8, 0.2, 0, 0, 0, 0], input: new Uint8Array(784), doubts: [], row: [] };
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL), predictImages: vi.fn(async () => [item]) });
    render(App, { props: { api } });
    await screen.findByRole('button', { name: 'Export model' });
    window.dispatchEvent(fileDrop([new File([new Uint8Array([1, 2])], 'four.png', { type: 'image/png' })]));
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Predict' }).getAttribute('aria-selected')).toBe('true'));
    await waitFor(() => expect(api.predictImages).toHaveBeenCalledTimes(1));
    expect(api.predictImages.mock.calls[0][0].files[0].name).toBe('four.png');
    expect(await screen.findByTestId('prediction-ok')).toBeTruthy();
  });

  it('Evaluate on My digits: "Show in My digits" on a mistake opens the collection at that picture, focused, to relabel or remove it', async () => {
    const api = renderWithMyDigits();
    await fireEvent.click(await screen.findByRole('tab', { name: 'Evaluate' }));
    const evaluate = document.getElementById('panel-evaluate')!;
    await fireEvent.click(await within(evaluate).findByRole('radio', { name: 'My digits (30 pictures)' }));
    await fireEvent.click(within(evaluate).getByRole('button', { name: 'Evaluate' }));
    const show = await within(evaluate).findByRole('button', { name: 'Show in My digits: 1/drawn-1-0.png' });
    Element.prototype.scrollIntoView = vi.fn();
    await fireEvent.click(show);

    expect(screen.getByRole('tab', { name: 'My digits' }).getAttribute('aria-selected')).toBe('true');
    const panel = document.getElementById('panel-mydigits')!;
    expect(panel.hidden).toBe(false);
    const card = within(panel).getAllByTestId('my-digit').find((li) => li.dataset.file === '1/drawn-1-0.png')!;
    await waitFor(() => expect(document.activeElement).toBe(card));
    expect(card.getAttribute('aria-current')).toBe('true');
    expect(card.textContent).toMatch(/Picked in Evaluate/);
    expect(within(panel).getAllByTestId('my-digit').filter((li) => li.getAttribute('aria-current'))).toHaveLength(1);
    // From there, the user relabels it.
    await fireEvent.change(within(card).getByRole('combobox', { name: 'Digit of 1/drawn-1-0.png' }), { target: { value: '7' } });
    expect(api.relabelMyDigit).toHaveBeenCalledWith({ file: '1/drawn-1-0.png', label: 7 });
  });

  it('My digits: "How does the current model do" links to the same results in Evaluate, under the My digits title', async () => {
    const api = renderWithMyDigits();
    await fireEvent.click(await screen.findByRole('tab', { name: 'My digits' }));
    const panel = document.getElementById('panel-mydigits')!;
    await fireEvent.click(await within(panel).findByRole('button', { name: 'How does the current model do on these?' }));
    expect((await within(panel).findByTestId('my-digits-evaluation')).textContent?.replace(/\s+/g, ' ')).toMatch(/reads 93\.3% of these 30 pictures right; its mistakes are marked below\./);
    await fireEvent.click(within(panel).getByRole('button', { name: 'Confusion matrix and mistakes in Evaluate' }));

    expect(screen.getByRole('tab', { name: 'Evaluate' }).getAttribute('aria-selected')).toBe('true');
    const evaluate = document.getElementById('panel-evaluate')!;
    expect(within(evaluate).getByRole('heading', { level: 2 }).textContent).toBe('Evaluate on My digits');
    expect(within(evaluate).getByTestId('my-digits-accuracy').textContent).toBe('93.33%');
    expect(api.evaluateMyDigits).toHaveBeenCalledTimes(1);
  });

  it('a folder dropped on My digits goes into the collection with the zips inside it; elsewhere its zips are left out', async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL), predictImages: vi.fn(async () => []) });
    render(App, { props: { api } });
    await screen.findByRole('button', { name: 'Export model' });
    const entry = (fullPath: string, type: string) => {
      const file = new File([new Uint8Array([1, 2])], fullPath.split('/').pop()!, { type });
      return { isFile: true, isDirectory: false, name: file.name, fullPath, file: (ok: (f: File) => void) => ok(file) };
    };
    const folderDrop = () => {
      const children = [entry('/mine/7/a.png', 'image/png'), entry('/mine/more.zip', 'application/zip')];
      const folder = { isFile: false, isDirectory: true, name: 'mine', fullPath: '/mine', createReader: () => ({ readEntries: (ok: (e: unknown[]) => void) => ok(children.splice(0)) }) };
      const event = new Event('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(event, 'dataTransfer', { value: { types: ['Files'], files: [], items: [{ kind: 'file', type: '', webkitGetAsEntry: () => folder }] } });
      return event;
    };
    await fireEvent.click(screen.getByRole('tab', { name: 'My digits' }));
    window.dispatchEvent(folderDrop());
    await waitFor(() => expect(api.importMyDigits).toHaveBeenCalledTimes(1));
    expect(api.importMyDigits.mock.calls[0][0].files.map((f) => f.path)).toEqual(['mine/7/a.png', 'mine/more.zip']);

    await fireEvent.click(screen.getByRole('tab', { name: 'Predict' }));
    window.dispatchEvent(folderDrop());
    await waitFor(() => expect(api.predictImages).toHaveBeenCalledTimes(1));
    expect(api.predictImages.mock.calls[0][0].files.map((f) => f.name)).toEqual(['mine/7/a.png']);
  });

  it("a run's next steps act on the run's model: while it is offered, the choice comes first, and Evaluate follows the switch", async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) });
    render(App, { props: { api } });
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    const runModel: ModelInfo = { origin: 'trained', dir: '/ws/runs/run-2/model', name: 'm', runId: 'run-2', preset: 'fast', testAccuracy: 0.97, createdAt: null };
    api.emit('modelOffer', { runId: 'run-2', runName: 'run-2', status: 'finished', model: runModel, testAccuracy: 0.97, current: MODEL, currentAccuracy: 0.981, better: 'current' });
    api.emit('training', { type: 'done', runId: 'run-2', testAccuracy: 0.97, model: runModel });
    api.emit('training', { type: 'state', state: 'finished', runId: 'run-2' });
    const next = await screen.findByTestId('next-steps');
    // The current model is not the run's: no "Evaluate it" that would evaluate another model.
    expect(within(next).queryByRole('button', { name: 'Evaluate it' })).toBeNull();
    expect(within(next).queryByRole('button', { name: 'Try it on your digits' })).toBeNull();
    expect(screen.getByText(/It is not in use yet/)).toBeTruthy();
    // "Export it" exports the run's model, not the current one.
    await fireEvent.click(within(next).getByRole('button', { name: 'Export it' }));
    await waitFor(() => expect(api.exportRunModel).toHaveBeenCalledWith({ runId: 'run-2' }));
    expect(api.exportModel).not.toHaveBeenCalled();

    await fireEvent.click(within(next).getByRole('button', { name: 'Use the new model' }));
    await waitFor(() => expect(api.useRunModel).toHaveBeenCalledWith({ runId: 'run-2' }));
    await waitFor(() => expect(screen.queryByRole('region', { name: 'A new model is ready' })).toBeNull());
    await fireEvent.click(await within(next).findByRole('button', { name: 'Evaluate it' }));
    await waitFor(() => expect(api.evaluateModel).toHaveBeenCalledTimes(1));
    expect(screen.getByRole('tab', { name: 'Evaluate' }).getAttribute('aria-selected')).toBe('true');
  });

  it("after 'Keep the current model', the finished run offers to use its model instead of evaluating another", async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) });
    render(App, { props: { api } });
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    const runModel: ModelInfo = { origin: 'trained', dir: '/ws/runs/run-3/model', name: 'm', runId: 'run-3', preset: 'fast', testAccuracy: 0.9, createdAt: null };
    api.emit('modelOffer', { runId: 'run-3', runName: 'run-3', status: 'finished', model: runModel, testAccuracy: 0.9, current: MODEL, currentAccuracy: 0.981, better: 'current' });
    api.emit('training', { type: 'done', runId: 'run-3', testAccuracy: 0.9, model: runModel });
    const offer = await screen.findByRole('region', { name: 'A new model is ready' });
    await fireEvent.click(within(offer).getByRole('button', { name: /^Keep the current model/ }));
    await waitFor(() => expect(api.dismissModelOffer).toHaveBeenCalledTimes(1));
    const next = screen.getByTestId('next-steps');
    const use = await within(next).findByRole('button', { name: "Use this run's model" });
    expect(within(next).queryByRole('button', { name: 'Evaluate it' })).toBeNull();
    await fireEvent.click(use);
    await waitFor(() => expect(api.useRunModel).toHaveBeenCalledWith({ runId: 'run-3' }));
    expect(await within(next).findByRole('button', { name: 'Evaluate it' })).toBeTruthy();
  });

  it('while the connection is lost, Evaluate and Predict are disabled and say why, and come back on reconnect', async () => {
    let report: (state: 'connecting' | 'open' | 'closed') => void = () => {};
    const api = Object.assign(createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) }), {
      onConnection: (listener: typeof report) => {
        report = listener;
        return () => {};
      },
    });
    render(App, { props: { api } });
    // Both panels are in the page (hidden ones included): the state must hold on either tab.
    const evaluate = () => screen.getByRole('button', { name: 'Evaluate', hidden: true }) as HTMLButtonElement;
    const choose = () => screen.getByRole('button', { name: 'Choose pictures…', hidden: true }) as HTMLButtonElement;
    await waitFor(() => expect(evaluate().disabled).toBe(false));
    expect(choose().disabled).toBe(false);

    report('closed');
    await waitFor(() => expect(evaluate().disabled).toBe(true));
    expect(choose().disabled).toBe(true);
    // The reason is the buttons' description, in plain words.
    expect(document.getElementById(evaluate().getAttribute('aria-describedby')!)?.textContent).toMatch(/Not connected to the Digit Studio server, so the model cannot be evaluated now/);
    expect(document.getElementById(choose().getAttribute('aria-describedby')!)?.textContent).toMatch(/Not connected to the Digit Studio server, so pictures cannot be read now/);
    expect(screen.getByTestId('live-prediction').textContent).toMatch(/Not connected to the server/);
    // A drop meanwhile is refused with the reason, not sent.
    document.body.dispatchEvent(fileDrop([new File([new Uint8Array([1])], 'seven.png', { type: 'image/png' })]));
    expect(await screen.findByText(/these pictures cannot be read now/)).toBeTruthy();
    expect(api.predictImages).not.toHaveBeenCalled();

    report('open');
    await waitFor(() => expect(evaluate().disabled).toBe(false));
    expect(choose().disabled).toBe(false);
    expect(evaluate().hasAttribute('aria-describedby')).toBe(false);
    expect(screen.queryByText(/so pictures cannot be read now/)).toBeNull();
  });

  it('says why it could not start instead of showing empty panels', async () => {
    const api = createFakeApi({ getAppInfo: vi.fn(async () => Promise.reject(new Error('getAppInfo: lost the connection to the Digit Studio server'))) });
    render(App, { props: { api } });
    expect(await screen.findByText('Digit Studio could not start')).toBeTruthy();
    expect(screen.getByText('getAppInfo: lost the connection to the Digit Studio server')).toBeTruthy();
  });

  it('after a lost WebSocket comes back, fetches the training snapshot and the model again', async () => {
    let report: (state: 'connecting' | 'open' | 'closed') => void = () => {};
    const api = Object.assign(createFakeApi(), {
      onConnection: (listener: typeof report) => {
        report = listener;
        return () => {};
      },
    });
    render(App, { props: { api } });
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalledTimes(1));
    report('closed');
    expect(await screen.findByText(/Lost the connection/)).toBeTruthy();
    report('connecting');
    report('open');
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalledTimes(2));
    expect(api.getCurrentModel).toHaveBeenCalledTimes(2);
    expect(api.getAppInfo).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.queryByText(/Lost the connection/)).toBeNull());
  });
});
