/**
 * The training host: starts a training child per run (see trainingProtocol.ts), turns its
 * messages into the renderer's TrainingUpdates and keeps the record (trainingRecord.ts) a
 * reloaded window redraws from.
 *
 * - Progress is throttled (progressThrottle.ts): at most one progress update per
 *   `progressIntervalMs`, the latest progress always goes out right before an epoch event, a
 *   pause, and the end of the run; epoch and checkpoint events always go out.
 * - States: idle -> running <-> paused; running|paused -> stopping -> stopped; running -> finished
 *   | failed. A child that exits without saying why is a crash: state failed, and its run stays
 *   resumable from the last checkpoint (listRuns / resumeRun).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BackendName } from '../ml/backend.ts';
import { readCheckpointInfo } from '../ml/checkpoint.ts';
import { lockRefusal, runLockFile } from '../ml/folderLock.ts';
import type { ModelInfo, RunSummary, TrainingEvent, TrainingRequest, TrainingSnapshot, TrainingState, TrainingUpdate } from './contract.ts';
import { StudioError } from './errors.ts';
import { EventHub } from './eventHub.ts';
import { DEFAULT_MAX_LOSS_POINTS } from '../ml/lossCurve.ts';
import { readHistory, type RunHistory } from '../ml/runHistory.ts';
import { readRunSummary } from '../ml/runList.ts';
import { ProgressThrottle } from './progressThrottle.ts';
import { START_MODEL_FOLDER, listRuns, newRunId, readRunRecord, requestFromSettings, runsDir, writeRunRecord } from './runRegistry.ts';
import { TrainingRecord } from './trainingRecord.ts';
import type { ChildExit, ChildMessage, ForkTrainer, TrainingChild } from './trainingProtocol.ts';

export const DEFAULT_PROGRESS_INTERVAL_MS = 250;
/** How long a stop may take (finish the step, write a checkpoint) before the child is killed. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** How long a child may linger after its last message before it is killed. */
const EXIT_GRACE_MS = 5_000;

type ProgressEvent = Extract<TrainingEvent, { type: 'progress' }>;

/** A run that ended with a model: finished, or stopped early (then still resumable). */
export interface EndedRun {
  runId: string;
  status: 'finished' | 'stopped';
  modelDir: string;
  testAccuracy: number;
}

/** Where a run on "My digits" finds them, and which model a fine-tune starts from. */
export interface PictureSources {
  /** The collection folder and the cache of its model inputs. */
  pictures: { dir: string; cacheDir: string };
  /**
   * Writes the current model into `dir` (a fine-tuning run's own copy: the run resumes from it
   * even when the current model's folder is gone or changed) and says how to name it; null when
   * there is no current model.
   */
  saveCurrentModel: (dir: string) => Promise<{ name: string } | null>;
}

export interface TrainingHostOptions {
  workspaceDir: string;
  /** Starts the child: forkNodeTrainer (nodeTrainingProcess.ts) or Electron's forkUtilityTrainer. */
  fork: ForkTrainer;
  dataDir?: string;
  backend?: BackendName;
  /** Needed for requests that fine-tune (startFrom 'current') or use "My digits" (data other than 'mnist'). */
  sources?: PictureSources;
  /**
   * Takes the model of a run that ended (finished or stopped): the service decides whether it
   * becomes the current one. Returns the run model's ModelInfo, which goes out in the 'done' update.
   */
  onRunEnded: (run: EndedRun) => Promise<ModelInfo>;
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

/** The model a fine-tune starts from: its folder and the name its metadata records. */
interface StartingModel {
  dir: string;
  name?: string;
}

interface ActiveRun {
  runId: string;
  runDir: string;
  fromModel: StartingModel | undefined;
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
  const forkChild = options.fork;
  const stopTimeout = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const hub = new EventHub<{ update: TrainingUpdate }>();
  const emit = (update: TrainingUpdate) => hub.emit('update', update);
  const record = new TrainingRecord(options.maxLossPoints ?? DEFAULT_MAX_LOSS_POINTS);
  const progress = new ProgressThrottle<ProgressEvent>(options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS, emit);
  let run: ActiveRun | null = null;

  const setState = (next: TrainingState, message?: string) => {
    record.setState(next);
    const { state, runId } = record;
    const elapsedSeconds = record.elapsedSeconds();
    emit(message === undefined ? { type: 'state', state, runId, elapsedSeconds } : { type: 'state', state, runId, message, elapsedSeconds });
  };

  const isActive = () => run !== null && !run.over;

  /**
   * The child said its last word (or is gone): send the latest progress. The run's history.json
   * is the child's to write (trainRun's RunRecorder), for app and command-line runs alike.
   */
  const endRun = (active: ActiveRun) => {
    active.over = true;
    progress.flush();
  };

  const fail = (message: string) => {
    record.error = message;
    setState('failed', message);
  };

  const handleMessage = (active: ActiveRun, message: ChildMessage) => {
    if (active !== run) return;
    switch (message.type) {
      case 'ready':
        active.ready = true;
        active.child.send({
          type: 'start',
          runDir: active.runDir,
          request: record.request!,
          dataDir: options.dataDir,
          backend: options.backend,
          ...(active.fromModel ? { fromModelDir: active.fromModel.dir, ...(active.fromModel.name ? { fromModelName: active.fromModel.name } : {}) } : {}),
          ...(record.request?.data && record.request.data !== 'mnist' && options.sources ? { pictures: options.sources.pictures } : {}),
        });
        if (record.state === 'paused') active.child.send({ type: 'pause' });
        if (record.state === 'stopping') active.child.send({ type: 'stop' });
        return;
      case 'event': {
        const event = message.event;
        if (event.type === 'progress') {
          record.addProgress(event);
          progress.push(event);
          return;
        }
        if (event.type === 'epoch') {
          progress.flush();
          record.addEpoch(event);
          emit(event);
          return;
        }
        // A resumed run keeps its earlier curve, up to the checkpoint it restarts from.
        if (event.type === 'start') record.started(event);
        emit(event);
        return;
      }
      case 'paused':
        active.parked = true;
        progress.flush();
        active.pauseWaiters.splice(0).forEach((resolve) => resolve());
        return;
      case 'stopped': {
        endRun(active);
        const stoppedAt = `Stopped at step ${message.step} of ${message.totalSteps}`;
        if (message.modelDir === null || message.testAccuracy === null) {
          setState('stopped', `${stoppedAt}; the run can be resumed.`);
          return;
        }
        active.finalWork = options
          .onRunEnded({ runId: active.runId, status: 'stopped', modelDir: message.modelDir, testAccuracy: message.testAccuracy })
          .then(() => setState('stopped', `${stoppedAt}; its model is saved and the run can be resumed.`))
          .catch((err: unknown) =>
            setState('stopped', `${stoppedAt}; the run can be resumed, but its model could not be loaded: ${err instanceof Error ? err.message : String(err)}`),
          );
        return;
      }
      case 'done':
        endRun(active);
        active.finalWork = options
          .onRunEnded({ runId: active.runId, status: 'finished', modelDir: message.modelDir, testAccuracy: message.testAccuracy })
          .then((model) => {
            const { imagesAccuracy, before } = message;
            emit({
              type: 'done',
              runId: active.runId,
              testAccuracy: message.testAccuracy,
              model,
              ...(imagesAccuracy !== undefined ? { imagesAccuracy } : {}),
              ...(before ? { before } : {}),
            });
            setState('finished');
          })
          .catch((err: unknown) => fail(`The run finished but its model could not be loaded: ${err instanceof Error ? err.message : String(err)}`));
        return;
      case 'error':
        endRun(active);
        fail(message.message);
        return;
    }
  };

  const handleExit = (active: ActiveRun, exit: ChildExit) => {
    if (active.killTimer) clearTimeout(active.killTimer);
    if (!active.over && active === run) {
      endRun(active);
      fail(`The training process ended unexpectedly (${describeExit(exit)}); the run can be resumed from its last checkpoint.`);
    }
    active.over = true;
    active.pauseWaiters.splice(0).forEach((resolve) => resolve());
    void active.finalWork.then(active.markEnded);
  };

  const launch = (id: string, runDir: string, runRequest: TrainingRequest, history: RunHistory | null, fromModel?: StartingModel) => {
    // Fork first: if the child cannot be started, the previous snapshot stays as it was.
    const child = forkChild();
    record.load(id, runRequest, history);
    progress.reset();
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const active: ActiveRun = {
      runId: id,
      runDir,
      fromModel,
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
      throw new StudioError('busy', `Run ${record.runId} is ${record.state}; stop it before starting another one.`);
    }
  };

  const stop = async () => {
    const active = run;
    if (!active) return;
    if (!active.over && record.state !== 'stopping') {
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
      if ((runRequest.startFrom === 'current' || (runRequest.data ?? 'mnist') !== 'mnist') && !options.sources) {
        throw new StudioError('unavailable', 'This window cannot train on "My digits" or fine-tune the current model.');
      }
      await mkdir(runDir, { recursive: true });
      let fromModel: StartingModel | undefined;
      if (runRequest.startFrom === 'current') {
        // The run keeps its own copy of the starting model (written from the checked model in memory).
        const saved = await options.sources!.saveCurrentModel(path.join(runDir, START_MODEL_FOLDER)).catch(async (error: unknown) => {
          await rm(runDir, { recursive: true, force: true });
          throw error;
        });
        if (!saved) {
          await rm(runDir, { recursive: true, force: true });
          throw new StudioError('no-model', 'There is no current model to start from: train one or import a model folder first.');
        }
        fromModel = { dir: path.join(runDir, START_MODEL_FOLDER), name: saved.name };
      }
      await writeRunRecord(runDir, {
        runId: id,
        request: runRequest,
        createdAt: new Date().toISOString(),
        ...(fromModel ? { fromModelDir: START_MODEL_FOLDER, fromModelName: fromModel.name } : {}),
      });
      ensureIdle();
      launch(id, runDir, runRequest, null, fromModel);
      return { runId: id };
    },

    async resumeRun(id) {
      ensureIdle();
      const runDir = path.join(runsDir(options.workspaceDir), id);
      // The same lock as `digits train`: a run the CLI is training is not started twice.
      const busy = await lockRefusal(runLockFile(runDir), `Run ${id}`);
      if (busy) throw new StudioError('busy', busy);
      const checkpoint = await readCheckpointInfo(runDir);
      if (!checkpoint) throw new StudioError('not-found', `Run ${id} has no checkpoint to resume from (${runDir}).`);
      // A complete run whose model was never written (a crash while writing it) resumes to write it.
      if (checkpoint.step >= checkpoint.totalSteps && !(await readRunSummary(runDir, id)).resumable) {
        throw new StudioError('conflict', `Run ${id} is complete (step ${checkpoint.step} of ${checkpoint.totalSteps}); nothing to resume.`);
      }
      const runRecord = await readRunRecord(runDir);
      const history = await readHistory(runDir);
      ensureIdle();
      // Resume continues the run to its saved total (which `digits train` may have changed since).
      const { epochs: _epochs, ...asked } = runRecord?.request ?? requestFromSettings(checkpoint.settings);
      // Older runs name the starting model's folder itself (absolute); newer ones their own copy (relative).
      const fromModel = runRecord?.fromModelDir ? { dir: path.resolve(runDir, runRecord.fromModelDir), name: runRecord.fromModelName } : undefined;
      launch(id, runDir, { ...asked, steps: checkpoint.settings.totalSteps }, history, fromModel);
      return { runId: id };
    },

    async pause() {
      const active = run;
      if (!active || active.over) throw new StudioError('not-running', 'No training run is in progress to pause.');
      if (record.state === 'stopping') throw new StudioError('not-running', `Run ${record.runId} is stopping; it cannot be paused.`);
      if (record.state === 'paused' && active.parked) return;
      const parked = new Promise<void>((resolve) => active.pauseWaiters.push(resolve));
      if (record.state === 'running') {
        setState('paused');
        if (active.ready) active.child.send({ type: 'pause' });
      }
      return parked;
    },

    async resume() {
      const active = run;
      if (!active || active.over || (record.state !== 'paused' && record.state !== 'running')) {
        throw new StudioError('not-running', 'No paused training run to resume.');
      }
      if (record.state === 'running') return;
      setState('running');
      active.parked = false;
      active.pauseWaiters.splice(0).forEach((resolve) => resolve());
      if (active.ready) active.child.send({ type: 'resume' });
    },

    stop,

    snapshot(): TrainingSnapshot {
      return record.snapshot();
    },

    listRuns() {
      return listRuns(options.workspaceDir, isActive() ? record.runId : null);
    },

    on(listener) {
      return hub.on('update', listener);
    },

    async dispose() {
      await stop();
      progress.reset();
      hub.clear();
    },
  };
}
