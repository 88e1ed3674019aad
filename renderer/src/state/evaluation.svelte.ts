/**
 * The evaluation view's state: the last evaluation of the current model, the confusion cell the
 * user picked and its test images, and the pictures of the most confident mistakes.
 */
import type { EvaluationSummary, StudioApi, TestImage } from '../lib/contract.ts';
import type { Notices } from './notices.svelte.ts';

/** How many pictures a gallery shows at most (a diagonal cell can hold a thousand). */
export const GALLERY_SIZE = 60;
export const MISTAKES_SHOWN = 30;

export interface ConfusionCell {
  label: number;
  predicted: number;
}

/** What Evaluate measures the model on: MNIST's test set, or the user's "My digits" collection. */
export type EvaluationSet = 'mnist' | 'mine';

export const cellKey = (cell: ConfusionCell): string => `${cell.label}-${cell.predicted}`;

export class Evaluation {
  /** The set the view shows (its results only; "My digits" results live in MyDigits.evaluation). */
  set = $state<EvaluationSet>('mnist');
  summary = $state.raw<EvaluationSummary | null>(null);
  evaluating = $state(false);
  /** Test images read so far by the evaluation under way, as main reports them (null: none yet). */
  progress = $state.raw<{ done: number; total: number } | null>(null);
  selected = $state.raw<ConfusionCell | null>(null);
  /** Test-image indices of the selected cell (all of them; the gallery shows the first GALLERY_SIZE). */
  selectedIndices = $state.raw<number[]>([]);
  gallery = $state.raw<TestImage[]>([]);
  galleryLoading = $state(false);
  mistakes = $state.raw<TestImage[]>([]);
  mistakesLoading = $state(false);

  readonly #api: StudioApi;
  readonly #notices: Notices;
  #galleryRequest = 0;

  constructor(api: StudioApi, notices: Notices) {
    this.#api = api;
    this.#notices = notices;
  }

  /** Follows main's progress reports of the evaluation under way; returns the unsubscribe function. */
  connect(): () => void {
    return this.#api.on('evaluationProgress', (report) => {
      if (this.evaluating) this.progress = report;
    });
  }

  chooseSet(set: EvaluationSet): void {
    this.set = set;
    this.clearSelection();
  }

  /** Measures the current model on the MNIST test set (and shows that set). */
  async evaluate(): Promise<void> {
    if (this.set !== 'mnist') this.chooseSet('mnist');
    if (this.evaluating) return;
    this.evaluating = true;
    this.progress = null;
    try {
      const summary = await this.#api.evaluateModel();
      this.summary = summary;
      this.selected = null;
      this.selectedIndices = [];
      this.gallery = [];
      void this.#loadMistakes(summary);
    } catch (error) {
      this.#notices.error(error, 'Could not evaluate the model');
    } finally {
      this.evaluating = false;
      this.progress = null;
    }
  }

  /** Shows the test images of one confusion cell (true label, predicted digit). */
  async selectCell(cell: ConfusionCell): Promise<void> {
    const summary = this.summary;
    if (!summary) return;
    const request = ++this.#galleryRequest;
    const indices = summary.cellIndices[cellKey(cell)] ?? [];
    this.selected = cell;
    this.selectedIndices = indices;
    this.gallery = [];
    if (indices.length === 0) return;
    this.galleryLoading = true;
    try {
      const images = await this.#api.getTestImages({ indices: indices.slice(0, GALLERY_SIZE) });
      if (request === this.#galleryRequest) this.gallery = images;
    } catch (error) {
      if (request === this.#galleryRequest) this.#notices.error(error, 'Could not load the test images');
    } finally {
      if (request === this.#galleryRequest) this.galleryLoading = false;
    }
  }

  clearSelection(): void {
    this.#galleryRequest++;
    this.selected = null;
    this.selectedIndices = [];
    this.gallery = [];
    this.galleryLoading = false;
  }

  async #loadMistakes(summary: EvaluationSummary): Promise<void> {
    const indices = summary.topMistakes.slice(0, MISTAKES_SHOWN).map((mistake) => mistake.index);
    this.mistakes = [];
    if (indices.length === 0) return;
    this.mistakesLoading = true;
    try {
      const images = await this.#api.getTestImages({ indices });
      if (this.summary === summary) this.mistakes = images;
    } catch (error) {
      this.#notices.error(error, 'Could not load the mistakes');
    } finally {
      this.mistakesLoading = false;
    }
  }
}
