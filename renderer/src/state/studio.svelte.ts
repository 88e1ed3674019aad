/**
 * The whole window's state: what main told us about itself (AppInfo), the current model, which
 * area is shown, and the per-area states. Created once in App.svelte with the api it talks to.
 */
import type { AppInfo, ModelInfo, ModelOffer, StudioApi } from '../lib/contract.ts';
import { errorMessage } from '../lib/errors.ts';
import { Evaluation } from './evaluation.svelte.ts';
import { ModelTransfer } from './modelTransfer.svelte.ts';
import { MyDigits } from './myDigits.svelte.ts';
import { Notices } from './notices.svelte.ts';
import { Predictions } from './predictions.svelte.ts';
import { Runs } from './runs.svelte.ts';
import { TrainingSession } from './training.svelte.ts';

/** What the WebSocket api adds to StudioApi (see socketApi.ts); Electron's api has none of it. */
interface ConnectionAware {
  onConnection(listener: (state: 'connecting' | 'open' | 'closed') => void): () => void;
}

export const AREAS = [
  { id: 'train', label: 'Train' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'predict', label: 'Predict' },
  { id: 'mydigits', label: 'My digits' },
  { id: 'runs', label: 'Models & runs' },
] as const;

export type AreaId = (typeof AREAS)[number]['id'];

/** Where a finished run's model stands: in use, offered beside the current one, or not in use. */
export type RunModelState = 'in-use' | 'offered' | 'not-in-use';

export class Studio {
  info = $state.raw<AppInfo | null>(null);
  model = $state.raw<ModelInfo | null>(null);
  area = $state<AreaId>('train');
  /** Why the window could not start (getAppInfo failed), shown instead of the panels. */
  loadError = $state<string | null>(null);
  /** The browser mode's WebSocket dropped and is reconnecting (never true in Electron). */
  connectionLost = $state(false);
  /** A run ended while another model was current: shown until the user chooses (see ModelOffer). */
  offer = $state.raw<ModelOffer | null>(null);
  /** The user's answer to the offer is on its way. */
  answering = $state(false);

  readonly notices = new Notices();
  readonly training: TrainingSession;
  readonly evaluation: Evaluation;
  readonly predictions: Predictions;
  readonly transfer: ModelTransfer;
  readonly myDigits: MyDigits;
  readonly runs: Runs;
  readonly #api: StudioApi;

  constructor(api: StudioApi) {
    this.#api = api;
    this.training = new TrainingSession(api, this.notices);
    this.evaluation = new Evaluation(api, this.notices);
    this.predictions = new Predictions(api, undefined, () => this.info?.limits ?? null);
    this.myDigits = new MyDigits(api, this.notices, () => this.info?.limits ?? null);
    this.transfer = new ModelTransfer(api, this.notices, {
      shell: () => this.info?.shell ?? 'electron',
      onImported: (model) => (this.model = model),
    });
    this.runs = new Runs(api, this.notices, { onModelChanged: (model) => (this.model = model) });
  }

  /**
   * Where the model of the run that just finished stands: the one in use ('in-use'), offered beside
   * the current one and waiting for the user's choice ('offered'), or not in use ('not-in-use', e.g.
   * the offer was declined); null when no run has finished. The Train panel's next steps follow it,
   * so "Evaluate it" never evaluates another model than the run's.
   */
  get finishedRunModel(): RunModelState | null {
    const runId = this.training.result?.runId;
    if (!runId) return null;
    if (this.model?.runId === runId) return 'in-use';
    return this.offer?.runId === runId ? 'offered' : 'not-in-use';
  }

  /** Makes the finished run's model the current one: the offer's "Use the new model" while it waits. */
  async useFinishedRun(): Promise<void> {
    const runId = this.training.result?.runId;
    if (!runId) return;
    if (this.offer?.runId === runId) await this.acceptOffer();
    else await this.runs.use(runId);
  }

  /** "Use the new model": the offered run's model becomes the current one. */
  async acceptOffer(): Promise<void> {
    await this.#answer(async (offer) => {
      this.model = await this.#api.useRunModel({ runId: offer.runId });
      this.notices.success(`Now using the new model (${offer.runName}).`);
    }, 'Could not switch to the new model');
  }

  /** "Keep the current model": the new one stays listed under Models & runs. */
  async declineOffer(): Promise<void> {
    await this.#answer(() => this.#api.dismissModelOffer(), 'Could not dismiss the offer');
  }

  async #answer(action: (offer: ModelOffer) => Promise<void>, doing: string): Promise<void> {
    const offer = this.offer;
    if (!offer || this.answering) return;
    this.answering = true;
    try {
      await action(offer);
      if (this.offer === offer) this.offer = null;
      void this.runs.refresh();
    } catch (error) {
      this.notices.error(error, doing);
    } finally {
      this.answering = false;
    }
  }

  /** Loads AppInfo and the current model and starts listening; returns the cleanup function. */
  connect(): () => void {
    const offModel = this.#api.on('modelChanged', (model) => {
      this.model = model;
      void this.runs.refresh();
    });
    const offOffer = this.#api.on('modelOffer', (offer) => (this.offer = offer));
    // A run that ends (or starts) changes the run list.
    const offRuns = this.#api.on('training', (update) => {
      if (update.type === 'state' || update.type === 'done') void this.runs.refresh();
    });
    const offTraining = this.training.connect();
    const offEvaluation = this.evaluation.connect();
    const offConnection = this.#watchConnection();
    void this.#load();
    return () => {
      offModel();
      offOffer();
      offRuns();
      offTraining();
      offEvaluation();
      offConnection();
    };
  }

  /**
   * The WebSocket api (browser mode) reconnects by itself, but events sent while it was down are
   * lost: when it comes back, the model and the training view are fetched again.
   */
  #watchConnection(): () => void {
    const socket = this.#api as Partial<ConnectionAware>;
    if (typeof socket.onConnection !== 'function') return () => {};
    return socket.onConnection((state) => {
      if (state === 'closed') {
        this.connectionLost = true;
        this.training.offline = true;
      } else if (state === 'open' && this.connectionLost) {
        this.connectionLost = false;
        this.training.offline = false;
        void this.#load();
        void this.training.sync();
      }
    });
  }

  async #load(): Promise<void> {
    if (!this.info) {
      try {
        this.info = await this.#api.getAppInfo();
        this.loadError = null;
        // E.g. why the last session's model was not restored: stays until dismissed.
        for (const notice of this.info.notices ?? []) this.notices.error(notice);
      } catch (error) {
        this.loadError = errorMessage(error);
        return;
      }
    }
    const modelBefore = this.model;
    try {
      const model = await this.#api.getCurrentModel();
      // A modelChanged event may have arrived meanwhile; it is newer.
      if (this.model === modelBefore) this.model = model;
    } catch (error) {
      this.notices.error(error, 'Could not ask for the current model');
    }
    const offerBefore = this.offer;
    try {
      const offer = await this.#api.getModelOffer();
      if (this.offer === offerBefore) this.offer = offer;
    } catch (error) {
      this.notices.error(error, 'Could not ask whether a new model is waiting');
    }
    void this.runs.refresh();
  }
}
