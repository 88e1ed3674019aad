/**
 * The training host: starts a training child per run (see trainingProtocol.ts), turns its
 * messages into the renderer's TrainingUpdates and keeps the TrainingSnapshot a reloaded window
 * redraws from.
 *
 * - Progress is throttled: at most one progress update per `progressIntervalMs` (a trailing timer
 *   sends the latest), the latest progress always goes out right before an epoch event, a pause,
 *   and the end of the run; epoch and checkpoint events always go out.
 * - States: idle -> running <-> paused; running|paused -> stopping -> stopped; running -> finished
 *   | failed. A child that exits without saying why is a crash: state failed, and its run stays
 *   resumable from the last checkpoint (listRuns / resumeRun).
 */
import { fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BackendName } from '../ml/backend.ts';
import type {
  ModelInfo,
  RunSummary,
  TrainingEvent,
  TrainingRequest,
  TrainingSnapshot,
  TrainingState,
  TrainingUpdate,
} from './contract.ts';
import { readCheckpointInfo } from '../ml/checkpoint.ts';
import { StudioError } from './errors.ts';
import { DEFAULT_MAX_LOSS_POINTS, LossCurve } from './lossCurve.ts';
import {
  listRuns,
  newRunId,
  readHistory,
  readRunRecord,
  requestFromSettings,
  runsDir,
  writeHistory,
  writeRunRecord,
  type RunHistory,
} from './runRegistry.ts';
import type { ChildExit, ChildMessage, ForkTrainer, TrainingChild } from './trainingProtocol.ts';

export const DEFAULT_PROGRESS_INTERVAL_MS = 250;
/** How long a stop may take (finish the step, write a checkpoint) before the child is killed. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** How long a child may linger after its last message before it is killed. */
const EXIT_GRACE_MS = 5_000;

type ProgressEvent = Extract<TrainingEvent, { type: 'progress' }>;
type EpochEvent = Extract<TrainingEvent, { type: 'epoch' }>;
type StartEvent = Extract<TrainingEvent, { type: 'start' }>;

export interface FinishedRun {
  runId: string;
  modelDir: string;
  testAccuracy: number;
}

export interface TrainingHostOptions {
  workspaceDir: string;
  /** Starts the child; default: child_process.fork of trainingWorker.ts through tsx. */
  fork?: ForkTrainer;
  dataDir?: string;
  backend?: BackendName;
  /** Makes a finished run's model the current one; its ModelInfo goes out in the 'done' update. */
  onFinished: (run: FinishedRun) => Promise<ModelInfo>;
  progressIntervalMs?: number;
  maxLossPoints?: number;
  stopTimeoutMs?: number;
}

export interface TrainingHost {
  start(request: TrainingRequest): Promise<{ runId: string }>;
  resumeRun(runId: string): Promise<{ runId: string }>;
  /** Resolves once the child has actually parked before its next step (or the run ended). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Resolves once the run has ended (checkpoint written, child gone); a no-op without a run. */
  stop(): Promise<void>;
  snapshot(): TrainingSnapshot;
  listRuns(): Promise<RunSummary[]>;
  on(listener: (update: TrainingUpdate) => void): () => void;
  /** Stops a running run (so it can be resumed) and forgets the listeners. */
  dispose(): Promise<void>;
}

/** Forks `main/app/trainingWorker.ts` with Node, compiling it on the fly with tsx (dev, tests, `digits serve`). */
export function forkNodeTrainer(workerPath = fileURLToPath(new URL('./trainingWorker.ts', import.meta.url))): ForkTrainer {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return () => {
    const child = fork(workerPath, [], { execArgv: ['--import', tsx], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return {
      send: (message) => {
        if (child.connected) child.send(message);
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as ChildMessage)),
      // 'close' comes after the IPC channel has delivered the child's last messages ('exit' may not).
      onExit: (listener) => child.once('close', (code, signal) => listener({ code, signal })),
      kill: () => {
        child.kill('SIGKILL');
      },
    };
  };
}

interface ActiveRun {
  runId: string;
  runDir: string;
  child: TrainingChild;
  ready: boolean;
  /** The child acknowledged the pause and is parked before its next step. */
  parked: boolean;
  /** A final message (stopped, done, error) arrived or the child is gone. */
  over: boolean;
  pauseWaiters: (() => void)[];
  ended: Promise<void>;
  markEnded: () => void;
  /** The async work of the final message (loading the model), awaited before `ended`. */
  finalWork: Promise<void>;
  killTimer: ReturnType<typeof setTimeout> | null;
}

function describeExit({ code, signal }: ChildExit): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}

export function createTrainingHost(options: TrainingHostOptions): TrainingHost {
  const forkChild = options.fork ?? forkNodeTrainer();
  const interval = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const maxLossPoints = options.maxLossPoints ?? DEFAULT_MAX_LOSS_POINTS;
  const stopTimeout = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const listeners = new Set<(update: TrainingUpdate) => void>();

  let run: ActiveRun | null = null;
  let state: TrainingState = 'idle';
  let runId: string | null = null;
  let request: TrainingRequest | null = null;
  let startEvent: StartEvent | null = null;
  let curve = new LossCurve(maxLossPoints);
  let learningRates: [number, number][] = [];
  let epochs: EpochEvent[] = [];
  let last: ProgressEvent | null = null;
  let error: string | null = null;
  let runningMs = 0;
  let runningSince: number | null = null;
  let pendingProgress: ProgressEvent | null = null;
  let lastProgressSent = 0;
  let progressTimer: ReturnType<typeof setTimeout> | null = null;

  const emit = (update: TrainingUpdate) => {
    for (const listener of [...listeners]) {
      try {
        listener(update);
      } catch (err) {
        console.error('training listener failed:', err);
      }
    }
  };

  const setState = (next: TrainingState, message?: string) => {
    const now = performance.now();
    if (state === 'running' && runningSince !== null) {
      runningMs += now - runningSince;
      runningSince = null;
    }
    if (next === 'running') runningSince = now;
    state = next;
    emit(message === undefined ? { type: 'state', state, runId } : { type: 'state', state, runId, message });
  };

  const flushProgress = () => {
    if (progressTimer) clearTimeout(progressTimer);
    progressTimer = null;
    if (!pendingProgress) return;
    const event = pendingProgress;
    pendingProgress = null;
    lastProgressSent = performance.now();
    emit(event);
  };

  const onProgress = (event: ProgressEvent) => {
    curve.add(event.step, event.loss);
    if (learningRates.at(-1)?.[1] !== event.learningRate) learningRates.push([event.step, event.learningRate]);
    last = event;
    pendingProgress = event;
    const wait = lastProgressSent + interval - performance.now();
    if (wait <= 0) flushProgress();
    else if (!progressTimer) progressTimer = setTimeout(flushProgress, wait);
  };

  const isActive = () => run !== null && !run.over;

  const saveHistory = (active: ActiveRun) => {
    const history: RunHistory = { losses: curve.points(), learningRates, epochs };
    writeHistory(active.runDir, history).catch(() => undefined); // Only for redrawing; never fatal.
  };

  const handleMessage = (active: ActiveRun, message: ChildMessage) => {
    if (active !== run) return;
    switch (message.type) {
      case 'ready':
        active.ready = true;
        active.child.send({ type: 'start', runDir: active.runDir, request: request!, dataDir: options.dataDir, backend: options.backend });
        if (state === 'paused') active.child.send({ type: 'pause' });
        if (state === 'stopping') active.child.send({ type: 'stop' });
        return;
      case 'event': {
        const event = message.event;
        if (event.type === 'progress') return onProgress(event);
        if (event.type === 'epoch') {
          flushProgress();
          epochs.push(event);
          emit(event);
          return saveHistory(active);
        }
        if (event.type === 'start') {
          startEvent = event;
          // A resumed run keeps its earlier curve, up to the checkpoint it restarts from.
          const kept = curve.points().filter(([step]) => step <= event.startStep);
          curve = new LossCurve(maxLossPoints);
          for (const [step, loss] of kept) curve.add(step, loss);
          epochs = epochs.filter((e) => e.step <= event.startStep);
          learningRates = learningRates.filter(([step]) => step <= event.startStep);
        }
        emit(event);
        return;
      }
      case 'paused':
        active.parked = true;
        flushProgress();
        active.pauseWaiters.splice(0).forEach((resolve) => resolve());
        return;
      case 'stopped':
        active.over = true;
        flushProgress();
        saveHistory(active);
        setState('stopped', `Stopped at step ${message.step} of ${message.totalSteps}; the run can be resumed.`);
        return;
      case 'done':
        active.over = true;
        flushProgress();
        saveHistory(active);
        active.finalWork = options
          .onFinished({ runId: active.runId, modelDir: message.modelDir, testAccuracy: message.testAccuracy })
          .then((model) => {
            emit({ type: 'done', runId: active.runId, testAccuracy: message.testAccuracy, model });
            setState('finished');
          })
          .catch((err: unknown) => {
            error = `The run finished but its model could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
            setState('failed', error);
          });
        return;
      case 'error':
        active.over = true;
        flushProgress();
        saveHistory(active);
        error = message.message;
        setState('failed', error);
        return;
    }
  };

  const handleExit = (active: ActiveRun, exit: ChildExit) => {
    if (active.killTimer) clearTimeout(active.killTimer);
    if (!active.over && active === run) {
      active.over = true;
      flushProgress();
      saveHistory(active);
      error = `The training process ended unexpectedly (${describeExit(exit)}); the run can be resumed from its last checkpoint.`;
      setState('failed', error);
    }
    active.over = true;
    active.pauseWaiters.splice(0).forEach((resolve) => resolve());
    void active.finalWork.then(active.markEnded);
  };

  const launch = (id: string, runDir: string, runRequest: TrainingRequest, history: RunHistory | null) => {
    // Fork first: if the child cannot be started, the previous snapshot stays as it was.
    const child = forkChild();
    runId = id;
    request = runRequest;
    startEvent = null;
    curve = new LossCurve(maxLossPoints);
    for (const [step, loss] of history?.losses ?? []) curve.add(step, loss);
    epochs = [...(history?.epochs ?? [])];
    learningRates = [...(history?.learningRates ?? [])];
    last = null;
    error = null;
    runningMs = 0;
    pendingProgress = null;
    lastProgressSent = 0;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const active: ActiveRun = {
      runId: id,
      runDir,
      child,
      ready: false,
      parked: false,
      over: false,
      pauseWaiters: [],
      ended,
      markEnded,
      finalWork: Promise.resolve(),
      killTimer: null,
    };
    run = active;
    child.onMessage((message) => {
      handleMessage(active, message);
      // A child that lingers after its last message is killed.
      if (active.over && !active.killTimer) active.killTimer = setTimeout(() => active.child.kill(), EXIT_GRACE_MS);
    });
    child.onExit((exit) => handleExit(active, exit));
    setState('running');
  };

  const ensureIdle = () => {
    if (isActive()) {
      throw new StudioError('busy', `Run ${runId} is ${state}; stop it before starting another one.`);
    }
  };

  const stop = async () => {
    const active = run;
    if (!active) return;
    if (!active.over && state !== 'stopping') {
      setState('stopping');
      if (active.ready) active.child.send({ type: 'stop' });
      active.killTimer = setTimeout(() => active.child.kill(), stopTimeout);
    }
    await active.ended;
  };

  return {
    async start(runRequest) {
      ensureIdle();
      const id = newRunId(runRequest.preset);
      const runDir = path.join(runsDir(options.workspaceDir), id);
      await mkdir(runDir, { recursive: true });
      await writeRunRecord(runDir, { runId: id, request: runRequest, createdAt: new Date().toISOString() });
      ensureIdle();
      launch(id, runDir, runRequest, null);
      return { runId: id };
    },

    async resumeRun(id) {
      ensureIdle();
      const runDir = path.join(runsDir(options.workspaceDir), id);
      const checkpoint = await readCheckpointInfo(runDir);
      if (!checkpoint) throw new StudioError('not-found', `Run ${id} has no checkpoint to resume from (${runDir}).`);
      if (checkpoint.step >= checkpoint.totalSteps) {
        throw new StudioError('conflict', `Run ${id} is complete (step ${checkpoint.step} of ${checkpoint.totalSteps}); nothing to resume.`);
      }
      const record = await readRunRecord(runDir);
      const history = await readHistory(runDir);
      ensureIdle();
      launch(id, runDir, record?.request ?? requestFromSettings(checkpoint.settings), history);
      return { runId: id };
    },

    async pause() {
      const active = run;
      if (!active || active.over) throw new StudioError('not-running', 'No training run is in progress to pause.');
      if (state === 'stopping') throw new StudioError('not-running', `Run ${runId} is stopping; it cannot be paused.`);
      if (state === 'paused' && active.parked) return;
      const parked = new Promise<void>((resolve) => active.pauseWaiters.push(resolve));
      if (state === 'running') {
        setState('paused');
        if (active.ready) active.child.send({ type: 'pause' });
      }
      return parked;
    },

    async resume() {
      const active = run;
      if (!active || active.over || (state !== 'paused' && state !== 'running')) {
        throw new StudioError('not-running', 'No paused training run to resume.');
      }
      if (state === 'running') return;
      setState('running');
      active.parked = false;
      active.pauseWaiters.splice(0).forEach((resolve) => resolve());
      if (active.ready) active.child.send({ type: 'resume' });
    },

    stop,

    snapshot() {
      const elapsed = runningMs + (state === 'running' && runningSince !== null ? performance.now() - runningSince : 0);
      return {
        state,
        runId,
        request,
        start: startEvent,
        losses: curve.points(),
        learningRates: [...learningRates],
        epochs: [...epochs],
        last,
        elapsedSeconds: elapsed / 1000,
        error,
      };
    },

    listRuns() {
      return listRuns(options.workspaceDir, isActive() ? runId : null);
    },

    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async dispose() {
      await stop();
      if (progressTimer) clearTimeout(progressTimer);
      listeners.clear();
    },
  };
}
