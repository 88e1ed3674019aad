/**
 * The current model's evaluation on the test set, computed once per model: the summary the
 * Evaluation view shows, and the class probabilities of every test image, which the test-image
 * cards reuse instead of predicting again.
 */
import { CLASSES, PIXELS, bytesToInputs, type ImageSet } from '../ml/dataset.ts';
import { metricsFromProbabilities, predictSetInSteps, setMetricsOf } from '../ml/evaluate.ts';
import { classify } from '../ml/predict.ts';
import type { EvaluationSummary, TestImage } from './contract.ts';
import type { CurrentModel, CurrentModelSlot } from './currentModel.ts';
import { StudioError } from './errors.ts';

/** The evaluation lists this many of the most confident mistakes. */
const TOP_MISTAKES = 100;

interface Evaluation {
  model: CurrentModel;
  summary: EvaluationSummary;
  /** count * 10 class probabilities of the test set. */
  probabilities: Float32Array;
}

export class TestSetEvaluation {
  #cached: Evaluation | null = null;
  #running: Promise<Evaluation> | null = null;

  constructor(
    private readonly current: CurrentModelSlot,
    private readonly testSet: () => Promise<ImageSet>,
    /** Told the test images read so far after each batch (main pushes it to the windows). */
    private readonly onProgress: (done: number, total: number) => void = () => {},
  ) {}

  /** Forgets the cached evaluation (the current model changed). */
  clear(): void {
    this.#cached = null;
  }

  /** The current model's evaluation; one run at a time, reused while the model stays current. */
  async summary(): Promise<EvaluationSummary> {
    return (await this.#evaluate()).summary;
  }

  /** Test images with the current model's probabilities (empty without a model). */
  async testImages(indices: number[]): Promise<TestImage[]> {
    const test = await this.testSet();
    const bad = indices.find((i) => i >= test.count);
    if (bad !== undefined) {
      throw new StudioError('invalid-payload', `Test image ${bad} does not exist; the test set has ${test.count} images (0 to ${test.count - 1}).`);
    }
    let rows: number[][] = indices.map(() => []);
    if (await this.current.info()) {
      rows = await this.current.use(async (entry) => {
        const cached = this.#cached?.model === entry ? this.#cached.probabilities : null;
        if (cached) return indices.map((i) => Array.from(cached.subarray(i * CLASSES, (i + 1) * CLASSES)));
        const pixels = new Float32Array(indices.length * PIXELS);
        indices.forEach((index, n) => bytesToInputs(test.images.subarray(index * PIXELS, (index + 1) * PIXELS), pixels, n * PIXELS));
        return classify(entry.model, pixels, indices.length);
      });
    }
    return indices.map((index, n) => ({
      index,
      label: test.labels[index],
      pixels: test.images.slice(index * PIXELS, (index + 1) * PIXELS),
      probabilities: rows[n],
    }));
  }

  #evaluate(): Promise<Evaluation> {
    return this.current.use(async (entry) => {
      if (this.#cached?.model === entry) return this.#cached;
      if (this.#running) {
        const result = await this.#running;
        if (result.model === entry) return result;
      }
      const run = this.#run(entry);
      this.#running = run;
      try {
        const result = await run;
        if (this.current.isCurrent(entry)) this.#cached = result;
        return result;
      } finally {
        if (this.#running === run) this.#running = null;
      }
    });
  }

  async #run(entry: CurrentModel): Promise<Evaluation> {
    const test = await this.testSet();
    const started = performance.now();
    const probabilities = await predictSetInSteps(entry.model, test, this.onProgress);
    const metrics = metricsFromProbabilities(probabilities, test.labels);
    const summary: EvaluationSummary = {
      model: entry.info,
      ...setMetricsOf(metrics),
      topMistakes: metrics.mistakes.slice(0, TOP_MISTAKES),
      cellIndices: metrics.cellIndices,
      seconds: (performance.now() - started) / 1000,
    };
    return { model: entry, summary, probabilities };
  }
}
