import { describe, expect, it } from 'vitest';
import { REQUEST_NAMES } from './contract.ts';
import { StudioError } from './errors.ts';
import { PICTURE_LIMITS, REQUEST_LIMITS, TRAINING_LIMITS } from '../ml/limits.ts';
import { PAYLOAD_SCHEMAS, validatePayload } from './validation.ts';

function problem(name: string, payload: unknown): string {
  try {
    validatePayload(name as never, payload);
  } catch (error) {
    expect(error).toBeInstanceOf(StudioError);
    expect((error as StudioError).code).toBe('invalid-payload');
    return (error as Error).message;
  }
  throw new Error(`expected ${name} to reject ${JSON.stringify(payload)}`);
}

const file = (name: string, size: number) => ({ name, bytes: new Uint8Array(size) });

describe('validatePayload', () => {
  it('has a schema for every request of the contract and nothing else', () => {
    expect(Object.keys(PAYLOAD_SCHEMAS).sort()).toEqual([...REQUEST_NAMES].sort());
  });

  it('accepts what the renderer sends', () => {
    expect(validatePayload('getAppInfo', undefined)).toBeUndefined();
    expect(validatePayload('listRuns', null)).toBeUndefined();
    expect(validatePayload('startTraining', { preset: 'cnn', epochs: 3, batchSize: 64, learningRate: 0.001, limit: 5000 })).toEqual({
      preset: 'cnn',
      epochs: 3,
      batchSize: 64,
      learningRate: 0.001,
      limit: 5000,
    });
    expect(validatePayload('getTestImages', { indices: [0, 9999] })).toEqual({ indices: [0, 9999] });
    expect(validatePayload('exportModel', undefined)).toBeUndefined();
    expect(validatePayload('importModel', {})).toBeUndefined();
    expect(validatePayload('uploadModel', { files: [file('model.json', 10)] }).files).toHaveLength(1);
    const files = Array.from({ length: REQUEST_LIMITS.maxFilesPerPrediction }, (_, i) => file(`${i}.png`, 10));
    expect(validatePayload('predictImages', { files }).files).toHaveLength(200);
    expect(validatePayload('predictImages', { files: [{ name: 'b.png', bytes: Buffer.from([1, 2]) }] }).files).toHaveLength(1);
    // An oversized picture is left to the handler, which fails it alone (its neighbours are read).
    const oversized = [file('ok.png', 5), file('huge.jpg', PICTURE_LIMITS.maxFileBytes + 1)];
    expect(validatePayload('predictImages', { files: oversized }).files).toHaveLength(2);
  });

  it('names the request, the field and the limit when a payload is wrong', () => {
    expect(problem('startTraining', { preset: 'cnn', epochs: 3, steps: 10 })).toMatch(/^Invalid startTraining request: give epochs or steps, not both/);
    expect(problem('startTraining', { preset: 'cnn', epochs: TRAINING_LIMITS.maxEpochs + 1 })).toMatch(/epochs: epochs must be at most 500/);
    expect(problem('startTraining', { preset: 'cnn', batchSize: 2.5 })).toMatch(/batchSize: batchSize must be a whole number/);
    expect(problem('startTraining', { preset: 'cnn', learningRate: 5 })).toMatch(/learningRate must be at most 1/);
    expect(problem('startTraining', { preset: 'cnn', evil: true })).toMatch(/evil/);
    expect(problem('startTraining', { preset: 'fast', data: 'mine', holdout: 1 })).toMatch(/holdout: holdout must be below 1/);
    expect(problem('startTraining', { preset: 'fast', data: 'mine', holdout: -0.1 })).toMatch(/holdout: holdout must be at least 0/);
    expect(problem('startTraining', { preset: 'fast', data: 'mine', holdout: '20%' })).toMatch(/holdout: holdout must be a number/);
    expect(validatePayload('startTraining', { preset: 'fast', data: 'mnist+mine', holdout: 0 })).toEqual({ preset: 'fast', data: 'mnist+mine', holdout: 0 });
    expect(problem('startTraining', undefined)).toMatch(/startTraining/);
    expect(problem('getTestImages', { indices: [] })).toMatch(/indices must not be empty/);
    expect(problem('getTestImages', { indices: [-1] })).toMatch(/indices\[0\]: index must be at least 0/);
    expect(problem('getTestImages', { indices: Array.from({ length: 1001 }, () => 0) })).toMatch(/at most 1000 indices/);
    expect(problem('predictImages', { files: Array.from({ length: 201 }, () => file('a.png', 1)) })).toMatch(/at most 200 files/);
    const big = Math.floor(PICTURE_LIMITS.maxFileBytes * 0.9);
    expect(problem('predictImages', { files: [file('a.png', big), file('b.png', big)] })).toMatch(
      /files: the pictures add up to 45\.0 MB; send at most 40\.0 MB per call/,
    );
    expect(problem('predictImages', { files: [{ name: 'x.png', bytes: [1, 2, 3] }] })).toMatch(/bytes must be a Uint8Array/);
    // The window never names a folder: main asks the user (desktop) or the model travels as files (browser).
    expect(problem('exportModel', { dir: '/tmp/model', overwrite: true })).toMatch(/exportModel/);
    expect(problem('importModel', { dir: '/etc' })).toMatch(/importModel/);
    expect(problem('uploadModel', { files: [] })).toMatch(/choose the model folder, its files or a zip of them/);
    expect(problem('uploadModel', { files: [file('weights.bin', REQUEST_LIMITS.maxModelUploadBytes + 1)] })).toMatch(/at most 40\.0 MB can be uploaded/);
    expect(problem('resumeRun', { runId: '../../etc' })).toMatch(/runId is not a valid run name/);
    expect(problem('pauseTraining', { now: true })).toMatch(/pauseTraining/);
  });

  it('refuses names that are not requests, including inherited object keys', () => {
    expect(problem('toString', undefined)).toMatch(/Unknown request 'toString'/);
    expect(problem('__proto__', {})).toMatch(/Unknown request/);
  });
});
