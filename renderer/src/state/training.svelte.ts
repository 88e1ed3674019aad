/**
 * The train panel's live state: what the main side says about the current run (lifecycle,
 * progress, epochs), the curves, and the actions (start, pause, resume, stop, resume a saved run).
 * Main pushes `training` events; on load, `getTrainingSnapshot` restores everything after a
 * reload or reconnect.
 */
import type { RunSummary, StudioApi, TrainingEvent, TrainingRequest, TrainingSnapshot, TrainingState, TrainingUpdate } from '../lib/contract.ts';
import { SpeedMemory } from '../lib/speedMemory.ts';
import type { Notices } from './notices.svelte.ts';
import { TrainingCurves } from './trainingCurves.ts';

type StartEvent = Extract<TrainingEvent, { type: 'start' }>;
type ProgressEvent = Extract<TrainingEvent, { type: 'progress' }>;
type EpochEvent = Extract<TrainingEvent, { type: 'epoch' }>;

const ACTIVE: readonly TrainingState[] = ['running', 'paused', 'stopping'];

export interface Clock {
  now(): number;
  /** Runs `callback` before the next repaint (requestAnimationFrame in a window). */
  nextFrame(callback: () => void): void;
}

const windowClock: Clock = {
  now: () => Date.now(),
  nextFrame: (callback) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => callback()) : queueMicrotask(callback)),
};

export class TrainingSession {
  state = $state<TrainingState>('idle');
  runId = $state<string | null>(null);
  /** The lifecycle message of the last state change (e.g. why a run failed). */
  message = $state<string | null>(null);
  request = $state.raw<TrainingRequest | null>(null);
  start = $state.raw<StartEvent | null>(null);
  last = $state.raw<ProgressEvent | null>(null);
  epochs = $state.raw<EpochEvent[]>([]);
  checkpointStep = $state<number | null>(null);
  result = $state.raw<{
    runId: string;
    testAccuracy: number;
    imagesAccuracy?: number;
    before?: { testAccuracy: number; imagesAccuracy?: number };
  } | null>(null);
  runs = $state.raw<RunSummary[]>([]);
  /** A request to main is in flight: the control buttons wait for it. */
  pending = $state(false);
  /** Seconds of training before `runningSince`, and when the current stretch began (ms). */
  elapsedBefore = $state(0);
  runningSince = $state<number | null>(null);
  /** Ticks once a second while running so elapsed time and ETA move. */
  now = $state(0);

  readonly curves = new TrainingCurves();
  readonly #api: StudioApi;
  readonly #notices: Notices;
  readonly #clock: Clock;
  #stateChanges = 0;
  /** The run whose points the curves hold (a resumed run keeps its own earlier points). */
  #curvesRunId: string | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  /**
   * The newest progress event not yet shown: progress can arrive hundreds of times a second,
   * and the numbers need to change only once per frame.
   */
  #pendingLast: ProgressEvent | null = null;
  /** Events held back while a snapshot is being fetched (null when none is). */
  #buffer: TrainingUpdate[] | null = null;

  /** This machine's measured training speed per preset, for the form's duration estimate. */
  readonly speeds: SpeedMemory;
  /** Bumped when a new speed is measured, so the estimate redraws. */
  speedVersion = $state(0);

  constructor(api: StudioApi, notices: Notices, clock: Clock = windowClock, speeds: SpeedMemory = new SpeedMemory()) {
    this.#api = api;
    this.#notices = notices;
    this.#clock = clock;
    this.speeds = speeds;
    this.now = clock.now();
  }

  get active(): boolean {
    return ACTIVE.includes(this.state);
  }

  get canStart(): boolean {
    return !this.pending && !this.offline && !this.active;
  }
  get canPause(): boolean {
    return !this.pending && !this.offline && this.state === 'running';
  }
  get canResume(): boolean {
    return !this.pending && !this.offline && this.state === 'paused';
  }
  get canStop(): boolean {
    return !this.pending && !this.offline && (this.state === 'running' || this.state === 'paused');
  }

  get elapsedSeconds(): number {
    const running = this.runningSince === null ? 0 : Math.max(0, this.now - this.runningSince) / 1000;
    return this.elapsedBefore + running;
  }

  get totalSteps(): number | null {
    return this.start?.totalSteps ?? null;
  }

  /** Seconds left at the current speed, or null when unknown. */
  get etaSeconds(): number | null {
    const start = this.start;
    const last = this.last;
    if (!start || !last || last.samplesPerSecond <= 0 || this.state !== 'running') return null;
    return ((start.totalSteps - last.step) * start.batchSize) / last.samplesPerSecond;
  }

  get totalEpochs(): number | null {
    return this.start ? Math.ceil(this.start.totalSteps / this.start.stepsPerEpoch) : null;
  }

  /**
   * Subscribes to main's events and restores the snapshot (see `sync`). Returns the unsubscribe
   * function.
   */
  connect(): () => void {
    const off = this.#api.on('training', (update) => {
      if (this.#buffer) this.#buffer.push(update);
      else this.handle(update);
    });
    void this.sync();
    return () => {
      off();
      this.#stopTicker();
    };
  }

  /**
   * Fetches the snapshot (on load, and again after a lost connection comes back) and lists the
   * saved runs. Events arriving while the snapshot is on its way are replayed after it.
   */
  async sync(): Promise<void> {
    void this.refreshRuns();
    if (this.#buffer) return; // a sync is already under way
    this.#buffer = [];
    try {
      this.restore(await this.#api.getTrainingSnapshot());
    } catch (error) {
      this.#notices.error(error, 'Could not restore the training view');
    } finally {
      const queued = this.#buffer ?? [];
      this.#buffer = null;
      for (const update of queued) this.handle(update);
    }
  }

  restore(snapshot: TrainingSnapshot): void {
    this.#pendingLast = null;
    this.runId = snapshot.runId;
    this.request = snapshot.request;
    this.start = snapshot.start;
    this.last = snapshot.last;
    this.epochs = snapshot.epochs;
    this.message = snapshot.error;
    this.#curvesRunId = snapshot.runId;
    this.curves.reset();
    this.curves.addLosses(snapshot.losses);
    this.curves.addLearningRates(snapshot.learningRates);
    for (const epoch of snapshot.epochs) this.curves.addEpoch(epoch);
    if (snapshot.last) this.curves.addProgress(snapshot.last);
    this.elapsedBefore = snapshot.elapsedSeconds;
    this.runningSince = null;
    this.#setState(snapshot.state);
  }

  handle(update: TrainingUpdate): void {
    if (update.type === 'progress') {
      this.curves.addProgress(update);
      if (this.#pendingLast === null) this.#clock.nextFrame(() => this.#showProgress());
      this.#pendingLast = update;
      return;
    }
    this.#showProgress();
    switch (update.type) {
      case 'state':
        this.#stateChanges++;
        // Another run began (started elsewhere, e.g. in a second window): its numbers start from nothing.
        if (this.runId !== null && update.runId !== null && update.runId !== this.runId && ACTIVE.includes(update.state)) this.#clearRun();
        this.runId = update.runId;
        this.message = update.message ?? null;
        this.#setState(update.state);
        if (update.elapsedSeconds !== undefined) {
          // Main's clock is the one truth: the same figure after a reload or in another window.
          this.elapsedBefore = update.elapsedSeconds;
          this.runningSince = update.state === 'running' ? this.#clock.now() : null;
        }
        if (!ACTIVE.includes(update.state)) void this.refreshRuns();
        break;
      case 'start':
        if (update.resumed && this.#curvesRunId !== null && this.#curvesRunId === this.runId) {
          this.curves.truncateAfter(update.startStep, Math.floor(update.startStep / update.stepsPerEpoch));
          this.epochs = this.epochs.filter((epoch) => epoch.step <= update.startStep);
        } else {
          this.curves.reset();
          this.epochs = [];
          this.last = null;
        }
        this.#curvesRunId = this.runId;
        this.start = update;
        this.result = null;
        this.checkpointStep = null;
        break;
      case 'epoch':
        if (this.request && this.last && this.last.samplesPerSecond > 0) {
          this.speeds.record(this.request.preset, this.last.samplesPerSecond);
          this.speedVersion++;
        }
        this.epochs = [...this.epochs.filter((epoch) => epoch.epoch < update.epoch), update];
        this.curves.addEpoch(update);
        break;
      case 'checkpoint':
        this.checkpointStep = update.step;
        break;
      case 'done':
        this.result = { runId: update.runId, testAccuracy: update.testAccuracy, imagesAccuracy: update.imagesAccuracy, before: update.before };
        break;
    }
  }


  #showProgress(): void {
    if (this.#pendingLast === null) return;
    this.last = this.#pendingLast;
    this.#pendingLast = null;
  }

  /** A Start request is on its way to main. */
  starting = $state(false);
  /** The connection to main is lost (browser mode): nothing shown is current, no control works. */
  offline = $state(false);

  /** True from Start until the new run's first numbers arrive: the view shows "Preparing…". */
  get preparing(): boolean {
    return this.starting || (this.state === 'running' && this.start === null);
  }

  /** Forgets the previous run's numbers at once, so a new run never shows them. */
  #clearRun(): void {
    this.#pendingLast = null;
    this.start = null;
    this.last = null;
    this.epochs = [];
    this.result = null;
    this.checkpointStep = null;
    this.message = null;
    this.curves.reset();
    this.#curvesRunId = null;
    this.elapsedBefore = 0;
    this.runningSince = null;
  }

  async startTraining(request: TrainingRequest): Promise<void> {
    if (this.pending) return;
    this.#clearRun();
    this.request = request;
    this.starting = true;
    try {
      await this.#call('Could not start training', async () => {
        const { runId } = await this.#api.startTraining(request);
        this.request = request;
        return { runId, state: 'running' };
      });
    } finally {
      this.starting = false;
    }
  }

  resumeRun(runId: string): Promise<void> {
    return this.#call('Could not resume the run', async () => {
      const started = await this.#api.resumeRun({ runId });
      return { runId: started.runId, state: 'running' };
    });
  }

  pause(): Promise<void> {
    return this.#call('Could not pause', async () => {
      await this.#api.pauseTraining();
      return { state: 'paused' };
    });
  }

  resume(): Promise<void> {
    return this.#call('Could not resume', async () => {
      await this.#api.resumeTraining();
      return { state: 'running' };
    });
  }

  stop(): Promise<void> {
    return this.#call('Could not stop', async () => {
      await this.#api.stopTraining();
      return { state: 'stopping' };
    });
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await this.#api.listRuns();
    } catch (error) {
      this.#notices.error(error, 'Could not list the saved runs');
    }
  }

  /**
   * Runs one control request. Main confirms every change with a `state` event; if none arrived
   * while the request was in flight, the expected state is shown right away.
   */
  async #call(doing: string, action: () => Promise<{ runId?: string; state: TrainingState }>): Promise<void> {
    if (this.pending) return;
    this.pending = true;
    const changesBefore = this.#stateChanges;
    try {
      const expected = await action();
      if (this.#stateChanges === changesBefore) {
        if (expected.runId !== undefined) this.runId = expected.runId;
        this.#setState(expected.state);
      }
    } catch (error) {
      this.#notices.error(error, doing);
    } finally {
      this.pending = false;
    }
  }

  #setState(state: TrainingState): void {
    const wasRunning = this.state === 'running' && this.runningSince !== null;
    const now = this.#clock.now();
    this.now = now;
    if (state === 'running' && !wasRunning) {
      this.runningSince = now;
      this.#startTicker();
    } else if (state !== 'running' && wasRunning) {
      this.elapsedBefore += Math.max(0, now - (this.runningSince ?? now)) / 1000;
      this.runningSince = null;
      this.#stopTicker();
    }
    this.state = state;
  }

  #startTicker(): void {
    if (this.#ticker !== null) return;
    this.#ticker = setInterval(() => (this.now = this.#clock.now()), 1000);
  }

  #stopTicker(): void {
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#ticker = null;
  }
}
