import { describe, expect, it, vi } from 'vitest';
import type { TrainingSnapshot } from '../lib/contract.ts';
import { createFakeApi, EMPTY_SNAPSHOT } from '../test/fakeApi.ts';
import { Notices } from './notices.svelte.ts';
import { TrainingSession } from './training.svelte.ts';

const progress = (step: number) => ({ type: 'progress' as const, step, epoch: 1, loss: 1 / step, learningRate: 0.01, samplesPerSecond: 100 });

describe('TrainingSession', () => {
  it('replays events that arrive while the snapshot is on its way', async () => {
    let answer!: (snapshot: TrainingSnapshot) => void;
    const api = createFakeApi({ getTrainingSnapshot: vi.fn(() => new Promise<TrainingSnapshot>((resolve) => (answer = resolve))) });
    const session = new TrainingSession(api, new Notices());
    session.connect();
    api.emit('training', progress(3));
    api.emit('training', progress(4));
    answer({ ...EMPTY_SNAPSHOT, state: 'running', runId: 'r', losses: [[1, 1], [2, 0.5], [3, 0.33]], last: progress(3) });
    await vi.waitFor(() => expect(session.last?.step).toBe(4));
    expect(session.curves.loss.data()[0]).toEqual([1, 2, 3, 4]);
    expect(session.state).toBe('running');
  });

  it('redraws the learning rate as steps from a snapshot', () => {
    const session = new TrainingSession(createFakeApi(), new Notices());
    session.restore({ ...EMPTY_SNAPSHOT, state: 'paused', runId: 'r', learningRates: [[1, 0.1], [276, 0.099], [551, 0.098]] });
    expect(session.curves.learningRate.data()).toEqual([
      [1, 275, 276, 550, 551],
      [0.1, 0.1, 0.099, 0.099, 0.098],
    ]);
  });

  it('counts elapsed time only while running', async () => {
    let now = 0;
    const api = createFakeApi();
    const session = new TrainingSession(api, new Notices(), { now: () => now, nextFrame: (callback) => callback() });
    session.handle({ type: 'state', state: 'running', runId: 'r' });
    now = 10_000;
    session.handle({ type: 'state', state: 'paused', runId: 'r' });
    now = 60_000;
    expect(session.elapsedSeconds).toBe(10);
    session.handle({ type: 'state', state: 'running', runId: 'r' });
    now = 65_000;
    session.now = now;
    expect(session.elapsedSeconds).toBe(15);
    session.handle({ type: 'state', state: 'finished', runId: 'r' });
  });

  it('shows a failed request as a notice and keeps the controls usable', async () => {
    const api = createFakeApi({ startTraining: vi.fn(async () => Promise.reject(new Error("Error invoking remote method 'studio:startTraining': Error: a run is already in progress"))) });
    const notices = new Notices();
    const session = new TrainingSession(api, notices);
    await session.startTraining({ preset: 'fast' });
    expect(notices.items.map((n) => n.text)).toEqual(['Could not start training: a run is already in progress']);
    expect(session.state).toBe('idle');
    expect(session.canStart).toBe(true);
  });

  it('a resumed run keeps its earlier points; a new run starts afresh', () => {
    const api = createFakeApi();
    const session = new TrainingSession(api, new Notices());
    const start = { type: 'start' as const, preset: 'fast' as const, startStep: 0, totalSteps: 100, stepsPerEpoch: 10, batchSize: 10, trainCount: 100, validationCount: 10, resumed: false };
    session.handle({ type: 'state', state: 'running', runId: 'a' });
    session.handle(start);
    for (let step = 1; step <= 30; step++) session.handle(progress(step));
    session.handle({ type: 'state', state: 'stopped', runId: 'a' });
    session.handle({ type: 'state', state: 'running', runId: 'a' });
    session.handle({ ...start, startStep: 20, resumed: true });
    expect(session.curves.loss.data()[0]).toHaveLength(20);
    session.handle({ type: 'state', state: 'running', runId: 'b' });
    session.handle(start);
    expect(session.curves.loss.data()[0]).toHaveLength(0);
  });

  it('shows a burst of progress events once per frame, and every point on the curve', () => {
    const frames: (() => void)[] = [];
    const session = new TrainingSession(createFakeApi(), new Notices(), { now: () => 0, nextFrame: (callback) => frames.push(callback) });
    for (let step = 1; step <= 250; step++) session.handle(progress(step));
    expect(frames).toHaveLength(1);
    expect(session.last).toBeNull();
    expect(session.curves.lossPoints).toBe(250);
    frames.shift()!();
    expect(session.last?.step).toBe(250);
    // A lifecycle event shows pending progress first, so the numbers never go backwards.
    session.handle(progress(251));
    session.handle({ type: 'state', state: 'paused', runId: 'r' });
    expect(session.last?.step).toBe(251);
  });

  it("takes the elapsed time from main's state events, so a reload shows the same figure", () => {
    let now = 0;
    const session = new TrainingSession(createFakeApi(), new Notices(), { now: () => now, nextFrame: (callback) => callback() });
    session.handle({ type: 'state', state: 'running', runId: 'r', elapsedSeconds: 0 });
    now = 25_000; // the window's own clock ran on (e.g. it counted the preparation differently)
    session.handle({ type: 'state', state: 'finished', runId: 'r', elapsedSeconds: 19 });
    expect(session.elapsedSeconds).toBe(19);
  });

  it('a Start clears the previous run at once and shows Preparing until the new run reports', async () => {
    let release: () => void = () => {};
    const api = createFakeApi({ startTraining: vi.fn(() => new Promise<{ runId: string }>((resolve) => (release = () => resolve({ runId: 'new' })))) });
    const session = new TrainingSession(api, new Notices(), { now: () => 0, nextFrame: (callback) => callback() });
    session.restore({ ...EMPTY_SNAPSHOT, state: 'finished', runId: 'old', elapsedSeconds: 42, last: progress(1000) });
    session.handle({ type: 'done', runId: 'old', testAccuracy: 0.98, model: { origin: 'trained', dir: '/m', name: 'm', preset: 'fast', testAccuracy: 0.98, createdAt: null } });
    const started = session.startTraining({ preset: 'fast', epochs: 1 });
    expect(session.preparing).toBe(true);
    expect(session.last).toBeNull();
    expect(session.result).toBeNull();
    expect(session.elapsedSeconds).toBe(0);
    release();
    await started;
    expect(session.preparing).toBe(true); // running, but no start event yet
  });
});
