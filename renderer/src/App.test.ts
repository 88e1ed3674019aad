import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import type { PredictionItem } from './lib/contract.ts';
import { APP_INFO, createFakeApi, MODEL } from './test/fakeApi.ts';

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

describe('App', () => {
  it('shows the backend (and why), the current model, and three areas to move between with the keyboard', async () => {
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
    expect(tabs.map((tab) => tab.textContent?.trim())).toEqual(['Train', 'Evaluate', 'Predict']);
    expect(tabs[0].getAttribute('aria-selected')).toBe('true');
    tabs[0].focus();
    await fireEvent.keyDown(tabs[0], { key: 'ArrowRight' });
    expect(tabs[1].getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(tabs[1]);
    expect((document.getElementById('panel-evaluate') as HTMLElement).hidden).toBe(false);
    expect((document.getElementById('panel-train') as HTMLElement).hidden).toBe(true);
    await fireEvent.keyDown(tabs[1], { key: 'End' });
    expect(tabs[2].getAttribute('aria-selected')).toBe('true');
    await fireEvent.keyDown(tabs[2], { key: 'ArrowRight' });
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

  it('in browser mode, export asks for a folder on the server and confirms before overwriting', async () => {
    const exportModel = vi.fn(async ({ dir, overwrite }: { dir?: string; overwrite?: boolean }) =>
      overwrite ? { status: 'exported' as const, dir: dir! } : { status: 'needs-confirmation' as const, dir: dir! },
    );
    const api = createFakeApi({
      getAppInfo: vi.fn(async () => ({ ...APP_INFO, shell: 'browser' as const })),
      getCurrentModel: vi.fn(async () => MODEL),
      exportModel,
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByRole('button', { name: 'Export model' }));
    const dialog = screen.getByRole('dialog', { name: 'Export the model' });
    const path = within(dialog).getByLabelText('Folder on the server');
    expect(document.activeElement).toBe(path);
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    expect(within(dialog).getByText('Enter a folder path.')).toBeTruthy();
    expect(exportModel).not.toHaveBeenCalled();

    await fireEvent.input(path, { target: { value: '/srv/models/digits' } });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    expect(exportModel).toHaveBeenCalledWith({ dir: '/srv/models/digits' });
    const confirm = await screen.findByRole('dialog', { name: 'Overwrite the folder?' });
    await fireEvent.click(within(confirm).getByRole('button', { name: 'Overwrite' }));
    expect(exportModel).toHaveBeenLastCalledWith({ dir: '/srv/models/digits', overwrite: true });
    expect(await screen.findByText('Model exported to /srv/models/digits.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('in Electron, export lets main show its folder chooser', async () => {
    const api = createFakeApi({ getCurrentModel: vi.fn(async () => MODEL) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByRole('button', { name: 'Export model' }));
    expect(api.exportModel).toHaveBeenCalledWith({});
    expect(await screen.findByText('Model exported to /chosen.')).toBeTruthy();
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
