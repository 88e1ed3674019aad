import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.ts';
import { analyseTopology, ModelFolderError, parseMetadata, parseModelJson } from './modelFolderChecks.ts';
import { PRESET_NAMES, createModel } from './models.ts';

const FILE = '/m/model.json';

function topologyOf(model: tf.LayersModel): Record<string, unknown> {
  return JSON.parse(JSON.stringify(model.toJSON(undefined, false))) as Record<string, unknown>;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFolderError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

/** A functional model exercising most layer rules; [batch, 28, 28, 1] -> [batch, 10]. */
function functionalZoo(): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  const padded = tf.layers.zeroPadding2d({ padding: [[1, 2], [3, 0]] }).apply(input) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 4, kernelSize: [3, 5], strides: 2, padding: 'valid' }).apply(padded) as tf.SymbolicTensor;
  const b = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }).apply(a) as tf.SymbolicTensor;
  const c = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(b) as tf.SymbolicTensor;
  const d = tf.layers.batchNormalization({ center: false }).apply(c) as tf.SymbolicTensor;
  const e = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', dilationRate: 2 }).apply(b) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([d, e]) as tf.SymbolicTensor;
  const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(sum) as tf.SymbolicTensor;
  const pooled = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(up) as tf.SymbolicTensor;
  const g1 = tf.layers.globalAveragePooling2d({}).apply(pooled) as tf.SymbolicTensor;
  const g2 = tf.layers.globalMaxPooling2d({}).apply(pooled) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([g1, g2]) as tf.SymbolicTensor;
  const normed = tf.layers.layerNormalization().apply(joined) as tf.SymbolicTensor;
  const reshaped = tf.layers.reshape({ targetShape: [4, 4] }).apply(normed) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(reshaped) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(tf.layers.dropout({ rate: 0.5 }).apply(flat)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/** Spatial sizes through padding, strides, dilation and pooling decide the last layer's size. */
function spatialChain(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.zeroPadding2d({ inputShape: [28, 28, 1], padding: [[1, 2], [3, 0]] }),
      tf.layers.conv2d({ filters: 3, kernelSize: [3, 5], strides: [2, 3], padding: 'valid' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, padding: 'valid', useBias: false }),
      tf.layers.upSampling2d({ size: [3, 2] }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('topology checks before building', () => {
  it('counts the same parameters as TensorFlow.js for every preset and for models of many layer types', () => {
    for (const model of [...PRESET_NAMES.map((name) => createModel(name)), functionalZoo(), spatialChain()]) {
      const summary = analyseTopology(topologyOf(model), FILE);
      expect(summary.parameters).toBe(model.countParams());
      expect(summary.input).toEqual([28, 28, 1]);
      expect(summary.output).toEqual([10]);
      model.dispose();
    }
  });

  it('refuses a 1.1M-unit layer from the JSON alone, before tfjs allocates anything', () => {
    const topology = topologyOf(createModel('seed'));
    const layers = (topology.config as { layers: { config: { units?: number } }[] }).layers;
    layers[1].config.units = 1_100_000;
    const tensors = tf.memory().numTensors;
    expect(refusal(() => analyseTopology(topology, FILE))).toMatch(
      /^\/m\/model.json: layer "hidden" \(Dense\): the model declares more than 50000000 parameters \(863500000 so far\); refused before building it$/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('refuses a layer whose output per image is huge (an activation bomb) and a layer type it cannot check', () => {
    const bomb = tf.sequential({ layers: [tf.layers.upSampling2d({ inputShape: [28, 28, 1], size: [40, 40] }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 10 })] });
    expect(refusal(() => analyseTopology(topologyOf(bomb), FILE))).toMatch(/produces 1254400 values per image, more than the 1000000 allowed/);
    const lstm = tf.sequential({ layers: [tf.layers.reshape({ inputShape: [28, 28, 1], targetShape: [28, 28] }), tf.layers.lstm({ units: 10 })] });
    expect(refusal(() => analyseTopology(topologyOf(lstm), FILE))).toMatch(/layer type LSTM is not one Digit Studio can check before building/);
    tf.dispose([bomb, lstm] as unknown as tf.Tensor[]);
  });

  it('says which input and output shapes it expects', () => {
    const wide = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 1] }), tf.layers.dense({ units: 10 })] });
    expect(refusal(() => analyseTopology(topologyOf(wide), FILE))).toBe(
      '/m/model.json: the model takes input [batch, 32, 32, 1]; Digit Studio needs [batch, 28, 28, 1] or [batch, 784] (28x28 greyscale images)',
    );
    const five = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 5 })] });
    expect(refusal(() => analyseTopology(topologyOf(five), FILE))).toBe(
      '/m/model.json: the model outputs [batch, 5]; Digit Studio needs [batch, 10] (one probability per digit)',
    );
    const vector = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10 })] });
    expect(analyseTopology(topologyOf(vector), FILE)).toMatchObject({ input: [784], output: [10], parameters: 7850 });
    tf.dispose([wide, five, vector] as unknown as tf.Tensor[]);
  });

  it('names the file and the field of a malformed topology', () => {
    const topology = topologyOf(createModel('seed'));
    const layers = (topology.config as { layers: { config: Record<string, unknown> }[] }).layers;
    layers[1].config.units = 'many';
    expect(refusal(() => analyseTopology(topology, FILE))).toMatch(/^\/m\/model.json: malformed field modelTopology.config.layers\[1\].config.units: /);
    expect(refusal(() => analyseTopology({ class_name: 'Banana' }, FILE))).toMatch(/modelTopology.class_name: expected a Sequential or functional model, got "Banana"/);
  });
});

describe('model.json and metadata.json fields', () => {
  const good = { modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'd/kernel', shape: [784, 10], dtype: 'float32' }] }] };

  it('accepts a well-formed manifest', () => {
    expect(parseModelJson(good, FILE).weightsManifest[0].paths).toEqual(['weights.bin']);
  });

  it.each([
    ['a shape that is not a list', { shape: 'abc' }, /weightsManifest\[0\]\.weights\[0\]\.shape: /],
    ['a negative dimension', { shape: [-1, 10] }, /weightsManifest\[0\]\.weights\[0\]\.shape\[0\]: /],
    ['an unknown dtype', { dtype: 'float64' }, /weightsManifest\[0\]\.weights\[0\]\.dtype: /],
    ['a missing name', { name: undefined }, /weightsManifest\[0\]\.weights\[0\]\.name: /],
  ])('names the field for %s', (_, change, pattern) => {
    const json = structuredClone(good);
    Object.assign(json.weightsManifest[0].weights[0], change);
    const message = refusal(() => parseModelJson(json, FILE));
    expect(message).toMatch(/^\/m\/model.json: malformed field /);
    expect(message).toMatch(pattern);
  });

  it('names the field for a manifest that is not a list, and paths that are not text', () => {
    expect(refusal(() => parseModelJson({ ...good, weightsManifest: {} }, FILE))).toMatch(/malformed field weightsManifest: /);
    expect(refusal(() => parseModelJson({ ...good, weightsManifest: [{ paths: [3], weights: [] }] }, FILE))).toMatch(/malformed field weightsManifest\[0\]\.paths\[0\]: /);
  });

  it("ignores someone else's metadata with a note, and names a malformed field of ours", () => {
    expect(parseMetadata({ author: 'someone' }, '/m/metadata.json')).toEqual({ metadata: null, note: '/m/metadata.json is not Digit Studio\'s (format null); it was ignored' });
    expect(refusal(() => parseMetadata({ format: 'digit-studio-model/1', preset: 'seed' }, '/m/metadata.json'))).toMatch(/^\/m\/metadata.json: malformed field labels: /);
  });
});
