import { describe, expect, it } from 'vitest';
import type { RunSettings } from './checkpoint.ts';
import { ResumeError, resumeOptions, type TrainingOptions } from './trainer.ts';

/** A run saved at step 55 of 60: 1,000 images in batches of 200 (5 steps an epoch). */
const saved = {
  step: 55,
  settings: { preset: 'seed', totalSteps: 60, batchSize: 200, learningRate: 0.1, trainCount: 1000, seed: 1 } satisfies RunSettings,
};
const asked = (options: Partial<TrainingOptions>): TrainingOptions => ({ preset: 'seed', runDir: 'runs/seed', ...options });

describe('resuming a run with what the user typed', () => {
  it('refuses a total below the step already reached (--steps 50 on a run at 55)', () => {
    expect(() => resumeOptions(saved, asked({ steps: 50 }), 60_000)).toThrow(ResumeError);
    expect(() => resumeOptions(saved, asked({ steps: 50 }), 60_000)).toThrow(
      'runs/seed is already at step 55; a total of 50 steps would undo training. Ask for more than 55 steps to train further, or train into another run folder.',
    );
  });

  it('refuses a different learning rate, batch size, seed or number of images instead of ignoring it', () => {
    expect(() => resumeOptions(saved, asked({ learningRate: 0.5 }), 60_000)).toThrow(
      'runs/seed holds a run at step 55 with learning rate 0.1 (asked for 0.5); a resumed run keeps its settings. Leave them out to continue it, or train into another run folder.',
    );
    expect(() => resumeOptions(saved, asked({ batchSize: 100, limit: 2000, seed: 7 }), 60_000)).toThrow(
      'with batch size 200 (asked for 100), seed 1 (asked for 7), training images 1000 (asked for 2000)',
    );
    expect(() => resumeOptions(saved, asked({ preset: 'cnn' }), 60_000)).toThrow('preset seed (asked for cnn)');
    expect(() => resumeOptions(saved, asked({}), 800)).toThrow('training images 1000 (asked for 800, all there are)');
    // Asking for what the run already has is fine.
    expect(resumeOptions(saved, asked({ learningRate: 0.1, batchSize: 200, limit: 1000 }), 60_000).notices).toEqual([]);
  });

  it('continues to the saved total when none is asked for, with the saved settings', () => {
    expect(resumeOptions(saved, asked({}), 60_000)).toEqual({
      options: { preset: 'seed', runDir: 'runs/seed', steps: 60, epochs: undefined, batchSize: 200, learningRate: 0.1, seed: 1, limit: 1000 },
      notices: [],
    });
  });

  it('says when the total changes, counting epochs in the run\'s own batches, and when nothing is left to train', () => {
    expect(resumeOptions(saved, asked({ epochs: 20 }), 60_000)).toMatchObject({
      options: { steps: 100 },
      notices: ["The run's total changes from 60 to 100 steps, as asked."],
    });
    expect(resumeOptions(saved, asked({ steps: 55 }), 60_000).notices).toEqual([
      "The run's total changes from 60 to 55 steps, as asked.",
      'The run is already complete (step 55 of 55): nothing left to train.',
    ]);
    expect(resumeOptions({ ...saved, step: 60 }, asked({}), 60_000).notices).toEqual(['The run is already complete (step 60 of 60): nothing left to train.']);
  });
});
