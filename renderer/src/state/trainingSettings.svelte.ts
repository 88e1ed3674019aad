/**
 * The train panel's form: a preset and its overridable settings, validated against the limits
 * main enforces (AppInfo.limits), so a request that leaves here is one main accepts.
 */
import { DEFAULT_HOLDOUT } from '../../../main/ml/heldOut.ts';
import type { AppInfo, PresetInfo, PresetName, TrainingData, TrainingRequest } from '../lib/contract.ts';

export type LengthUnit = 'epochs' | 'steps';

export interface SettingsErrors {
  length?: string;
  batchSize?: string;
  learningRate?: string;
  limit?: string;
}

/** A number input's value: Svelte binds an empty number input as null (or undefined). */
type NumberInput = number | null | undefined;

function isBlank(value: NumberInput): value is null | undefined {
  return value === null || value === undefined || Number.isNaN(value);
}

function checkInteger(value: NumberInput, min: number, max: number, what: string): string | undefined {
  if (isBlank(value)) return `Enter the ${what}.`;
  if (!Number.isInteger(value)) return `The ${what} must be a whole number.`;
  if (value < min || value > max) return `The ${what} must be between ${min.toLocaleString('en-US')} and ${max.toLocaleString('en-US')}.`;
  return undefined;
}

export class TrainingSettings {
  preset = $state<PresetName>('fast');
  unit = $state<LengthUnit>('epochs');
  length = $state<NumberInput>(1);
  batchSize = $state<NumberInput>(100);
  learningRate = $state<NumberInput>(0.001);
  /** Train on the first N images only; blank = all of them. */
  limit = $state<NumberInput>(null);
  /** Fresh weights or the current model's (a fine-tune keeps the current model's preset). */
  startFrom = $state<'scratch' | 'current'>('scratch');
  data = $state<TrainingData>('mnist');
  /** With my digits: the share of each digit's pictures kept aside to check the model (0 = no check). */
  holdout = $state(DEFAULT_HOLDOUT);

  readonly #info: AppInfo;

  constructor(info: AppInfo) {
    this.#info = info;
    this.choosePreset(info.defaultPreset);
  }

  get presets(): PresetInfo[] {
    return this.#info.presets;
  }

  get presetInfo(): PresetInfo | undefined {
    return this.#info.presets.find((preset) => preset.name === this.preset);
  }

  get limits(): AppInfo['limits'] {
    return this.#info.limits;
  }

  get trainCount(): number {
    return this.#info.dataset.train;
  }

  get maxLength(): number {
    return this.unit === 'epochs' ? this.limits.maxEpochs : this.limits.maxSteps;
  }

  /** Resets the settings to the chosen preset's defaults. */
  choosePreset(name: PresetName): void {
    const preset = this.#info.presets.find((p) => p.name === name) ?? this.#info.presets[0];
    if (!preset) return;
    this.preset = preset.name;
    if (preset.defaultSteps !== undefined && preset.defaultEpochs === undefined) {
      this.unit = 'steps';
      this.length = preset.defaultSteps;
    } else {
      this.unit = 'epochs';
      this.length = preset.defaultEpochs ?? 1;
    }
    this.batchSize = preset.batchSize;
    this.learningRate = preset.learningRate;
  }

  /** Starting from the current model switches to the measured fine-tune settings; scratch back to the preset's. */
  chooseStartFrom(startFrom: 'scratch' | 'current'): void {
    this.startFrom = startFrom;
    if (startFrom === 'scratch') {
      this.choosePreset(this.preset);
      return;
    }
    const { batchSize, learningRate, epochs } = this.#info.fineTune;
    this.unit = 'epochs';
    this.length = epochs;
    this.batchSize = batchSize;
    this.learningRate = learningRate;
  }

  /** Switching between epochs and steps converts the length so the run stays about as long. */
  chooseUnit(unit: LengthUnit): void {
    if (unit === this.unit) return;
    const stepsPerEpoch = Math.max(1, Math.ceil((isBlank(this.limit) ? this.trainCount : this.limit) / (this.batchSize || 1)));
    if (!isBlank(this.length)) {
      const converted = unit === 'steps' ? this.length * stepsPerEpoch : Math.max(1, Math.round(this.length / stepsPerEpoch));
      this.length = Math.min(converted, unit === 'steps' ? this.limits.maxSteps : this.limits.maxEpochs);
    }
    this.unit = unit;
  }

  /** Fills the form from a run's request (the current run's settings after a reload). */
  fromRequest(request: TrainingRequest): void {
    this.choosePreset(request.preset);
    if (request.steps !== undefined) {
      this.unit = 'steps';
      this.length = request.steps;
    } else if (request.epochs !== undefined) {
      this.unit = 'epochs';
      this.length = request.epochs;
    }
    if (request.batchSize !== undefined) this.batchSize = request.batchSize;
    if (request.learningRate !== undefined) this.learningRate = request.learningRate;
    this.limit = request.limit ?? null;
    // Start from and Data stay as they are: a new run after a fine-tune is often a fresh one.
    this.holdout = request.holdout ?? DEFAULT_HOLDOUT;
  }

  /** Training images the run will have seen at its end (steps x batch), or null while invalid. */
  get imagesPerRun(): number | null {
    if (!this.valid) return null;
    const batch = this.batchSize as number;
    const available = isBlank(this.limit) ? this.trainCount : Math.min(this.limit, this.trainCount);
    const steps = this.unit === 'steps' ? (this.length as number) : (this.length as number) * Math.ceil(available / batch);
    return steps * batch;
  }

  get errors(): SettingsErrors {
    const limits = this.limits;
    const errors: SettingsErrors = {};
    const length = checkInteger(this.length, 1, this.maxLength, `number of ${this.unit}`);
    if (length) errors.length = length;
    const batch = checkInteger(this.batchSize, limits.minBatchSize, limits.maxBatchSize, 'batch size');
    if (batch) errors.batchSize = batch;
    const rate = this.learningRate;
    if (isBlank(rate)) errors.learningRate = 'Enter the learning rate.';
    else if (!(rate >= limits.minLearningRate && rate <= limits.maxLearningRate)) {
      errors.learningRate = `The learning rate must be between ${limits.minLearningRate} and ${limits.maxLearningRate}.`;
    }
    if (!isBlank(this.limit)) {
      const limit = checkInteger(this.limit, 1, Math.max(1, this.trainCount), 'number of training images');
      if (limit) errors.limit = limit;
    }
    return errors;
  }

  get valid(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  /** The request for main, or null while a field is invalid. */
  toRequest(): TrainingRequest | null {
    if (!this.valid) return null;
    const request: TrainingRequest = {
      preset: this.preset,
      batchSize: this.batchSize as number,
      learningRate: this.learningRate as number,
    };
    if (this.unit === 'epochs') request.epochs = this.length as number;
    else request.steps = this.length as number;
    if (!isBlank(this.limit)) request.limit = this.limit;
    if (this.startFrom !== 'scratch') request.startFrom = this.startFrom;
    if (this.data !== 'mnist') {
      request.data = this.data;
      request.holdout = this.holdout;
    }
    return request;
  }
}
