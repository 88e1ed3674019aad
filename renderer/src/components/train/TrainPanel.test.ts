import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Notices } from '../../state/notices.svelte.ts';
import { TrainingSession } from '../../state/training.svelte.ts';
import { APP_INFO, createFakeApi, EMPTY_SNAPSHOT, type FakeApi } from '../../test/fakeApi.ts';
import { SpeedMemory } from '../../lib/speedMemory.ts';
import AreaTabs from '../layout/AreaTabs.svelte';
import TrainPanel from './TrainPanel.svelte';

// uPlot needs a real canvas; a stand-in records what the charts are given.
const plots = vi.hoisted(() => [] as { title: string; labels: string[]; data: unknown[][]; setDataCalls: number }[]);
vi.mock('uplot', () => ({
  default: class FakePlot {
    data: unknown[][];
    setDataCalls = 0;
    width = 600;
    title: string;
    labels: string[];
    constructor(options: { series: { label?: string }[] }, data: unknown[][]) {
      this.data = data;
      this.title = options.series[1]?.label ?? '';
      this.labels = options.series.slice(1).map((series) => series.label ?? '');
      plots.push(this);
    }
    setData(data: unknown[][]) {
      this.data = data;
      this.setDataCalls++;
    }
    setSize() {}
    redraw() {}
    destroy() {}
  },
}));

function memoryStore() {
  const items = new Map<string, string>();
  return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
}

function setup(
  api: FakeApi = createFakeApi(),
  extra: { onevaluate?: () => void; ontry?: () => void; onexport?: () => void; speeds?: SpeedMemory; myDigitsPerDigit?: number[]; hasModel?: boolean } = {},
) {
  const session = new TrainingSession(api, new Notices(), undefined, extra.speeds ?? new SpeedMemory(memoryStore()));
  const disconnect = session.connect();
  const view = render(TrainPanel, {
    props: { info: APP_INFO, session, onevaluate: extra.onevaluate, ontry: extra.ontry, onexport: extra.onexport, myDigitsPerDigit: extra.myDigitsPerDigit, hasModel: extra.hasModel },
  });
  return { api, session, view, disconnect };
}

const isDisabled = (element: HTMLElement) => (element as HTMLButtonElement | HTMLInputElement).disabled;
const lossPlot = () => plots.filter((plot) => plot.title === 'Loss').at(-1)!;

afterEach(() => {
  plots.length = 0;
});

describe('TrainPanel', () => {
  it('starts training with the chosen settings and disables Start while running', async () => {
    const { api } = setup();
    const start = screen.getByRole('button', { name: 'Start training' });
    expect(isDisabled(start)).toBe(false);

    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'cnn' } });
    expect(screen.getByText('Two convolution blocks.')).toBeTruthy();
    await fireEvent.input(screen.getByLabelText('Length'), { target: { value: '2' } });
    await fireEvent.input(screen.getByLabelText('Batch size'), { target: { value: '50' } });
    await fireEvent.input(screen.getByLabelText('Learning rate'), { target: { value: '0.002' } });
    await fireEvent.input(screen.getByLabelText(/Limit training images/), { target: { value: '1000' } });
    await fireEvent.click(start);

    expect(api.startTraining).toHaveBeenCalledTimes(1);
    expect(api.startTraining).toHaveBeenCalledWith({ preset: 'cnn', epochs: 2, batchSize: 50, learningRate: 0.002, limit: 1000 });
    await waitFor(() => expect(isDisabled(start)).toBe(true));
    // Until the run's first numbers arrive it is preparing, with nothing from any earlier run.
    expect(screen.getByTestId('training-state').textContent).toBe('Preparing…');
    api.emit('training', { type: 'start', preset: 'cnn', startStep: 0, totalSteps: 40, stepsPerEpoch: 20, batchSize: 50, trainCount: 1000, validationCount: 5000, resumed: false });
    await waitFor(() => expect(screen.getByTestId('training-state').textContent).toBe('Training'));
    expect(isDisabled(screen.getByRole('button', { name: 'Pause' }))).toBe(false);
    expect(isDisabled(screen.getByLabelText('Batch size'))).toBe(true);
  });

  it('shows what is wrong with a setting and does not start', async () => {
    const { api } = setup();
    await fireEvent.input(screen.getByLabelText('Batch size'), { target: { value: '0' } });
    expect(screen.getByText('The batch size must be between 1 and 2,048.')).toBeTruthy();
    expect(screen.getByLabelText('Batch size').getAttribute('aria-invalid')).toBe('true');
    const start = screen.getByRole('button', { name: 'Start training' });
    expect(isDisabled(start)).toBe(true);
    await fireEvent.submit(start.closest('form')!);
    expect(api.startTraining).not.toHaveBeenCalled();

    await fireEvent.input(screen.getByLabelText('Length'), { target: { value: '501' } });
    expect(screen.getByText('The number of epochs must be between 1 and 500.')).toBeTruthy();
  });

  it('the seed preset runs in steps', async () => {
    const { api } = setup();
    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'seed' } });
    expect((screen.getByLabelText('Length') as HTMLInputElement).value).toBe('50000');
    expect((screen.getByLabelText('Batch size') as HTMLInputElement).value).toBe('200');
    await fireEvent.click(screen.getByRole('button', { name: 'Start training' }));
    expect(api.startTraining).toHaveBeenCalledWith({ preset: 'seed', steps: 50_000, batchSize: 200, learningRate: 0.1 });
  });

  it('updates step, epoch, samples/s and the loss curve as events arrive', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-9' });
    api.emit('training', {
      type: 'start',
      preset: 'fast',
      startStep: 0,
      totalSteps: 3300,
      stepsPerEpoch: 550,
      batchSize: 100,
      trainCount: 55_000,
      validationCount: 5000,
      resumed: false,
    });
    for (let step = 1; step <= 120; step++) {
      api.emit('training', { type: 'progress', step, epoch: 1, loss: 2 / step, learningRate: 0.001, samplesPerSecond: 4321 });
    }
    await waitFor(() => expect(screen.getByTestId('stat-step').textContent).toBe('120 / 3,300'));
    expect(screen.getByTestId('stat-speed').textContent).toBe('4,321');
    expect(screen.getByTestId('stat-epoch').textContent).toBe('1 / 6');
    // (3300 - 120) steps * 100 samples / 4321 samples/s = 73.6 s
    expect(screen.getByTestId('stat-eta').textContent).toBe('1:14');
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('4');

    // The chart gets the points in batches, not one redraw per event.
    await waitFor(() => expect(lossPlot().data[0]).toHaveLength(120));
    expect(lossPlot().setDataCalls).toBeLessThan(10);
    expect(lossPlot().data[1][119]).toBeCloseTo(2 / 120);

    api.emit('training', { type: 'epoch', epoch: 1, step: 550, validationAccuracy: 0.9612, validationLoss: 0.13, seconds: 12 });
    await waitFor(() => expect(screen.getByText('96.12%')).toBeTruthy());
  });

  it('shows what a resumed run did with the request (notices from the trainer)', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-3' });
    const notice = 'Skipped a newer checkpoint: tensors.bin does not match the SHA-256 in checkpoint.json (the file is corrupt); using the one at step 25.';
    api.emit('training', {
      type: 'start',
      preset: 'fast',
      startStep: 25,
      totalSteps: 100,
      stepsPerEpoch: 10,
      batchSize: 100,
      trainCount: 1000,
      validationCount: 500,
      resumed: true,
      notices: [notice],
    });
    await waitFor(() => expect(screen.getByTestId('training-notice').textContent).toBe(notice));
  });

  it('pause, resume and stop call the api', async () => {
    const { api } = setup();
    api.emit('training', { type: 'state', state: 'running', runId: 'run-1' });
    await fireEvent.click(await screen.findByRole('button', { name: 'Pause' }));
    expect(api.pauseTraining).toHaveBeenCalledTimes(1);

    const resume = await screen.findByRole('button', { name: 'Resume' });
    await fireEvent.click(resume);
    expect(api.resumeTraining).toHaveBeenCalledTimes(1);

    const stop = await screen.findByRole('button', { name: 'Stop' });
    await waitFor(() => expect(isDisabled(stop)).toBe(false));
    await fireEvent.click(stop);
    expect(api.stopTraining).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByTestId('training-state').textContent).toBe('Stopping…'));
    expect(isDisabled(screen.getByRole('button', { name: 'Stop' }))).toBe(true);
  });

  it('resumes a saved run from the list', async () => {
    const api = createFakeApi({
      listRuns: vi.fn(async () => [
        { runId: 'run-7', preset: 'cnn', step: 2000, totalSteps: 4400, updatedAt: '2026-11-25T09:00:00.000Z', resumable: true },
        { runId: 'run-3', preset: 'fast', step: 3300, totalSteps: 3300, updatedAt: '2026-11-24T09:00:00.000Z', resumable: false },
      ]),
    });
    setup(api);
    await fireEvent.click(await screen.findByRole('button', { name: 'Resume run run-7' }));
    expect(api.resumeRun).toHaveBeenCalledWith({ runId: 'run-7' });
    expect(screen.queryByRole('button', { name: 'Resume run run-3' })).toBeNull();
  });

  it('restores the curves and numbers from the snapshot after a reload', async () => {
    const losses: [number, number][] = Array.from({ length: 500 }, (_, i) => [(i + 1) * 10, 1 / (i + 1)]);
    const api = createFakeApi({
      getTrainingSnapshot: vi.fn(async () => ({
        ...EMPTY_SNAPSHOT,
        state: 'running' as const,
        runId: 'run-2',
        start: { type: 'start' as const, preset: 'fast' as const, startStep: 0, totalSteps: 10_000, stepsPerEpoch: 550, batchSize: 100, trainCount: 55_000, validationCount: 5000, resumed: false },
        losses,
        epochs: [{ type: 'epoch' as const, epoch: 1, step: 550, validationAccuracy: 0.95, validationLoss: 0.2, seconds: 10 }],
        last: { type: 'progress' as const, step: 5000, epoch: 10, loss: 0.002, learningRate: 0.0005, samplesPerSecond: 2000 },
        elapsedSeconds: 250,
      })),
    });
    setup(api);
    await waitFor(() => expect(screen.getByTestId('stat-step').textContent).toBe('5,000 / 10,000'));
    expect(screen.getByTestId('training-state').textContent).toBe('Training');
    expect(screen.getByTestId('stat-elapsed').textContent).toBe('4:10');
    await waitFor(() => expect(lossPlot().data[0]).toHaveLength(500));
    expect(isDisabled(screen.getByRole('button', { name: 'Start training' }))).toBe(true);
  });

  it('says when the server is not connected and offers no control that cannot work', async () => {
    const { api, session } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-1' });
    await screen.findByRole('button', { name: 'Pause' });
    session.offline = true;
    await waitFor(() => expect(screen.getByTestId('training-state').textContent).toBe('Not connected'));
    expect(isDisabled(screen.getByRole('button', { name: 'Pause' }))).toBe(true);
    expect(isDisabled(screen.getByRole('button', { name: 'Stop' }))).toBe(true);
    expect(screen.getByText(/connection to Digit Studio's server is lost/)).toBeTruthy();
  });

  it('offers the next steps when a run finishes: evaluate, try it, export', async () => {
    const onevaluate = vi.fn();
    const ontry = vi.fn();
    const onexport = vi.fn();
    const { api } = setup(undefined, { onevaluate, ontry, onexport });
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'done', runId: 'run-1', testAccuracy: 0.981, model: { origin: 'trained', dir: '/m', name: 'm', preset: 'fast', testAccuracy: 0.981, createdAt: null } } as never);
    api.emit('training', { type: 'state', state: 'finished', runId: 'run-1' });
    const next = await screen.findByTestId('next-steps');
    await fireEvent.click(within(next).getByRole('button', { name: 'Evaluate it' }));
    await fireEvent.click(within(next).getByRole('button', { name: 'Try it on your digits' }));
    await fireEvent.click(within(next).getByRole('button', { name: 'Export it' }));
    expect([onevaluate.mock.calls.length, ontry.mock.calls.length, onexport.mock.calls.length]).toEqual([1, 1, 1]);
  });

  it("after a reload the form shows the current run's settings, and the elapsed time is main's", async () => {
    const api = createFakeApi({
      getTrainingSnapshot: vi.fn(async () => ({
        ...EMPTY_SNAPSHOT,
        state: 'finished' as const,
        runId: 'run-4',
        request: { preset: 'seed' as const, steps: 1200, batchSize: 64, learningRate: 0.05, limit: 3000 },
        elapsedSeconds: 19.4,
      })),
    });
    setup(api);
    await waitFor(() => expect((screen.getByLabelText('Length') as HTMLInputElement).value).toBe('1200'));
    expect((screen.getByLabelText('Model') as HTMLSelectElement).value).toBe('seed');
    expect((screen.getByLabelText('Batch size') as HTMLInputElement).value).toBe('64');
    expect((screen.getByLabelText('Learning rate') as HTMLInputElement).value).toBe('0.05');
    expect((screen.getByLabelText(/Limit training images/) as HTMLInputElement).value).toBe('3000');
    expect(screen.getByTestId('data-train').textContent?.replace(/\s+/g, ' ').trim()).toBe('3,000 of 55,000');
    expect(screen.getByTestId('stat-elapsed').textContent).toBe('0:19');
  });

  it('estimates the duration before Start from the speed measured on this machine, in plain words', async () => {
    const speeds = new SpeedMemory(memoryStore());
    setup(undefined, { speeds });
    expect(screen.getByTestId('preset-summary').textContent).toBe('A small network that learns quickly.');
    expect(screen.getByTestId('estimate').textContent).toMatch(/shown once this model has trained here/);
    speeds.record('fast', 11_000);
    // A re-render happens on the next speed measurement; re-open the panel to read it now.
    await fireEvent.input(screen.getByLabelText('Length'), { target: { value: '2' } });
    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'seed' } });
    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'fast' } });
    // fast defaults: 6 epochs x 55,000 images (batch 100 in the fake) = 330,000 images / 11,000/s = 30 s
    await waitFor(() => expect(screen.getByTestId('estimate').textContent).toMatch(/Takes about 0:30 at the speed measured on this machine \(11,000 images\/s\)/));
  });
});

describe('TrainPanel with my digits', () => {
  const MODEL_INFO = { origin: 'trained' as const, dir: '/m', name: 'm', preset: 'fast' as const, testAccuracy: 0.95, createdAt: null };
  const startEvent = (heldOutPictures?: number) => ({
    type: 'start' as const,
    preset: 'fast' as const,
    startStep: 0,
    totalSteps: 20,
    stepsPerEpoch: 10,
    batchSize: 100,
    trainCount: 1000,
    validationCount: 5000,
    resumed: false,
    ...(heldOutPictures === undefined ? {} : { heldOutPictures }),
  });
  const validationPlot = () => plots.filter((plot) => plot.title === 'MNIST validation').at(-1)!;
  const holdoutSelect = () => screen.getByLabelText('My digits kept aside to check') as HTMLSelectElement;

  it('offers the share of my digits kept aside only when the data includes them, and sends it', async () => {
    // 3 pictures of each digit but one 0 and six 7s: a fifth rounds to 1 per digit (none of the lone 0, 1 of the 7s).
    const perDigit = [1, 3, 3, 3, 3, 3, 3, 6, 3, 3];
    const { api } = setup(undefined, { myDigitsPerDigit: perDigit });
    expect(screen.queryByLabelText('My digits kept aside to check')).toBeNull();
    await fireEvent.change(screen.getByLabelText('Data', { selector: 'select' }), { target: { value: 'mnist+mine' } });
    expect(holdoutSelect().value).toBe('0.2');
    expect(screen.getByText(/The same share of each digit is set aside and never trained on/)).toBeTruthy();
    expect(screen.getByTestId('holdout-count').textContent).toBe(
      'Of the 31 pictures in "My digits", 9 kept aside and 22 to train on. Only 9 pictures are held out: each one moves the held-out accuracy by 11 points, so treat it as a rough sign, not a measurement.',
    );
    await fireEvent.change(holdoutSelect(), { target: { value: '0' } });
    expect(screen.getByTestId('holdout-count').textContent).toMatch(/^Of the 31 pictures in "My digits", 0 kept aside and 31 to train on\. No pictures are held out/);
    await fireEvent.click(screen.getByRole('button', { name: 'Start training' }));
    expect(api.startTraining).toHaveBeenCalledWith(expect.objectContaining({ data: 'mnist+mine', holdout: 0 }));

    // MNIST alone sends no share at all.
    api.emit('training', { type: 'state', state: 'finished', runId: 'run-1' });
    await waitFor(() => expect(isDisabled(screen.getByRole('button', { name: 'Start training' }))).toBe(false));
    await fireEvent.change(screen.getByLabelText('Data', { selector: 'select' }), { target: { value: 'mnist' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Start training' }));
    expect(api.startTraining.mock.calls.at(-1)![0]).not.toHaveProperty('holdout');
  });

  it('does not start a run on my digits while "My digits" is empty, and says why', async () => {
    const { api } = setup(undefined, { myDigitsPerDigit: new Array(10).fill(0) });
    const start = screen.getByRole('button', { name: 'Start training' });
    expect(isDisabled(start)).toBe(false);
    await fireEvent.change(screen.getByLabelText('Data', { selector: 'select' }), { target: { value: 'mine' } });
    expect(isDisabled(start)).toBe(true);
    expect(screen.getByTestId('holdout-count').textContent).toBe('"My digits" is empty: add pictures there first.');
    await fireEvent.submit(start.closest('form')!);
    expect(api.startTraining).not.toHaveBeenCalled();
  });

  it('with none kept aside: no my-digits line, and the summary says there is no held-out figure', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-2' });
    api.emit('training', startEvent(0));
    api.emit('training', { type: 'epoch', epoch: 1, step: 10, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 });
    await waitFor(() => expect(validationPlot().labels).toEqual(['MNIST validation']));
    expect(validationPlot().data).toHaveLength(2);
    expect(screen.getByTestId('held-out-caveat').textContent).toMatch(/No pictures are held out/);
    api.emit('training', { type: 'done', runId: 'run-2', testAccuracy: 0.93, model: MODEL_INFO, before: { testAccuracy: 0.95 } });
    const summary = await screen.findByTestId('before-after');
    expect(summary.textContent?.replace(/\s+/g, ' ').trim()).toBe(
      'My digits: no held-out figure, because none were kept aside to check the model. MNIST test: 95.00% → 93.00%.',
    );
    expect(summary.textContent).not.toMatch(/%.*→.*%.*→/);
  });

  it('with few kept aside: the my-digits line, its count, and what one picture is worth', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-3' });
    api.emit('training', startEvent(12));
    api.emit('training', { type: 'epoch', epoch: 1, step: 10, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1, imagesAccuracy: 0.75 });
    await waitFor(() => expect(validationPlot().labels).toEqual(['MNIST validation', 'My digits (held out, 12 pictures)']));
    await waitFor(() => expect(validationPlot().data).toEqual([[1], [0.9], [0.75]]));
    // The text alternative names both lines, not only the last one.
    expect(screen.getByRole('img', { name: /^Validation accuracy: / }).getAttribute('aria-label')).toBe(
      'Validation accuracy: 1 points, 2 curves; mnist validation 90.00% at epoch 1; lowest 90.00%, highest 90.00%. my digits (held out, 12 pictures) 75.0% at epoch 1; lowest 75.0%, highest 75.0%',
    );
    expect(screen.getByTestId('held-out-caveat').textContent).toBe(
      'Only 12 pictures are held out: each one moves the held-out accuracy by 8.3 points, so treat it as a rough sign, not a measurement.',
    );
    api.emit('training', { type: 'done', runId: 'run-3', testAccuracy: 0.94, imagesAccuracy: 11 / 12, model: MODEL_INFO, before: { testAccuracy: 0.95, imagesAccuracy: 0.5 } });
    const summary = await screen.findByTestId('before-after');
    expect(summary.textContent?.replace(/\s+/g, ' ').trim()).toBe('My digits (held out, 12 pictures): 50.00% → 91.67%. MNIST test: 95.00% → 94.00%.');
    expect(screen.getByTestId('before-after-caveat').textContent).toMatch(/^Only 12 pictures are held out: each one moves the held-out accuracy by 8.3 points/);
  });

  it('an MNIST-only run draws no my-digits line and gives no caveat', async () => {
    const { api } = setup();
    await waitFor(() => expect(api.getTrainingSnapshot).toHaveBeenCalled());
    api.emit('training', { type: 'state', state: 'running', runId: 'run-4' });
    api.emit('training', startEvent());
    api.emit('training', { type: 'epoch', epoch: 1, step: 10, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 });
    await waitFor(() => expect(validationPlot().labels).toEqual(['MNIST validation']));
    expect(screen.queryByTestId('held-out-caveat')).toBeNull();
  });
});

describe('AreaTabs', () => {
  it('shows on the Train tab that a run is in progress, in words for screen readers', () => {
    render(AreaTabs, { props: { areas: [{ id: 'train', label: 'Train' }, { id: 'predict', label: 'Predict' }], active: 'predict', onselect: () => {}, busy: { train: 'a run is in progress' } } });
    expect(screen.getByRole('tab', { name: 'Train (a run is in progress)' })).toBeTruthy();
    expect(screen.getByTestId('tab-busy-train')).toBeTruthy();
    expect(screen.getByRole('navigation', { name: 'Areas' })).toBeTruthy();
  });
});
