/**
 * Checks of a model folder's declarations, made before TensorFlow.js sees anything: model folders
 * come from anywhere (downloads, colleagues), and tfjs allocates every layer's weights while it
 * builds a model, so a `model.json` declaring a 1.1M-unit layer would take gigabytes (and leave the
 * WASM backend broken) before any weight is compared. Here, from the JSON alone:
 *
 * - every field of `model.json`'s weights manifest and of `metadata.json` is validated (zod), and a
 *   problem names the file and the field;
 * - the topology's shapes are followed layer by layer to get the model's input and output shapes,
 *   its parameter count and its largest activation, for the layer types a digit model uses; any
 *   other layer type is refused by name (its cost could not be known before building it).
 *
 * Pure functions over parsed JSON; the file reading is in modelFolder.ts.
 *
 * Longer than 400 lines on purpose: most of it is one table (`LAYER_RULES`, a shape and
 * parameter rule per supported layer type) and the zod schemas of the three files; splitting the
 * table from the walk that uses it would only add an import between two halves of one idea.
 */
import { z } from 'zod';
import { CLASSES, IMAGE_SIZE, PIXELS } from './dataset.ts';
import { MODEL_FOLDER_LIMITS } from './limits.ts';
import { PRESET_NAMES } from './models.ts';
import { describeIssues } from './zodIssues.ts';

export { MODEL_FOLDER_LIMITS };

/** Why a model folder is refused; the message names the file and what is wrong. */
export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

function fail(file: string, message: string): never {
  throw new ModelFolderError(`${file}: ${message}`);
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, file: string, prefix: readonly PropertyKey[] = []): T {
  const result = schema.safeParse(value);
  if (!result.success) fail(file, `malformed field ${describeIssues(result.error, prefix)}`);
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// model.json

/** The dtypes a digit model's weights may have, as stored (sizes: weightBytes.ts). */
const WEIGHT_DTYPES = ['float32', 'int32', 'bool'] as const;
const QUANTIZED_DTYPES = ['uint8', 'uint16', 'float16'] as const;

const weightSpecSchema = z.looseObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()).max(8),
  dtype: z.enum(WEIGHT_DTYPES),
  quantization: z
    .looseObject({
      dtype: z.enum(QUANTIZED_DTYPES),
      scale: z.number().optional(),
      min: z.number().optional(),
    })
    .optional(),
});
export type WeightSpec = z.infer<typeof weightSpecSchema>;

const modelJsonSchema = z.looseObject({
  format: z.string().optional(),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(
      z.looseObject({
        paths: z.array(z.string().min(1)).min(1).max(MODEL_FOLDER_LIMITS.weightsFiles),
        weights: z.array(weightSpecSchema),
      }),
    )
    .min(1)
    .max(MODEL_FOLDER_LIMITS.weightsFiles),
});
export type ModelJson = z.infer<typeof modelJsonSchema>;

/** model.json's fields checked (the topology is checked by analyseTopology). */
export function parseModelJson(value: unknown, file: string): ModelJson {
  const parsed = parseWith(modelJsonSchema, value, file);
  const files = parsed.weightsManifest.reduce((n, group) => n + group.paths.length, 0);
  if (files > MODEL_FOLDER_LIMITS.weightsFiles) fail(file, `lists ${files} weights files, more than the ${MODEL_FOLDER_LIMITS.weightsFiles} allowed`);
  return parsed;
}

/** Elements of a manifest entry (its bytes: weightDataBytes). */
export function weightElements(spec: WeightSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// metadata.json

export const MODEL_FORMAT = 'digit-studio-model/1';
const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (SHA-256)');

export interface TestMetricsSummary {
  accuracy: number;
  loss: number;
  count: number;
}

/** The data behind a model: MNIST and/or labelled pictures, and the model it started from. */
export interface TrainedOn {
  /** MNIST's training images used (all of them, or the replay sample per epoch), or null when not used. */
  mnist: { source: string; count: number } | null;
  pictures?: {
    /** The labelled folder's name (not its full path, which may be private). */
    folder: string;
    count: number;
    perDigit: number[];
    trainCount: number;
    heldOutCount: number;
    /** The share of each digit's pictures asked to be held out (absent in folders written before it was recorded). */
    holdout?: number;
    /** sha256 over every picture's file name, label and content (labelledFolder.ts). */
    contentHash: string;
    augmented: boolean;
    copies: number;
  };
  fineTunedFrom?: { folder: string; preset: string; createdAt?: string; test?: TestMetricsSummary; trainedOn?: TrainedOn };
}

const count = z.number().int().nonnegative();
const text = z.string().max(1000);
const testSummarySchema = z.object({ accuracy: z.number().min(0).max(1), loss: z.number().nonnegative(), count });
const trainedOnSchema: z.ZodType<TrainedOn> = z.lazy(() =>
  z.object({
    mnist: z.object({ source: text, count }).nullable(),
    pictures: z
      .object({
        folder: text,
        count,
        perDigit: z.array(count).max(CLASSES),
        trainCount: count,
        heldOutCount: count,
        holdout: z.number().min(0).max(1).optional(),
        contentHash: text,
        augmented: z.boolean(),
        copies: count,
      })
      .optional(),
    fineTunedFrom: z
      .object({ folder: text, preset: text, createdAt: text.optional(), test: testSummarySchema.optional(), trainedOn: trainedOnSchema.optional() })
      .optional(),
  }),
);

/** How the run that made a model ended (see RunEnd in runs.ts). */
export type RunEndStatus = 'finished' | 'stopped';

export const modelMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  preset: z.enum(PRESET_NAMES as [(typeof PRESET_NAMES)[number], ...(typeof PRESET_NAMES)[number][]]),
  labels: z.array(z.string()).length(CLASSES),
  input: z.object({
    shape: z.tuple([z.literal(IMAGE_SIZE), z.literal(IMAGE_SIZE), z.literal(1)]),
    range: z.tuple([z.number(), z.number()]),
    ink: z.literal('high'),
    layout: z.literal('NHWC'),
  }),
  output: z.literal('probabilities'),
  preprocessing: z.string().max(2000),
  training: z.object({
    steps: z.number().int().nonnegative(),
    batchSize: z.number().int().positive(),
    learningRate: z.number().positive(),
    trainCount: z.number().int().nonnegative(),
    seed: z.number().int(),
    weights: z.enum(['moving-average', 'raw']),
  }),
  test: testSummarySchema.optional(),
  /** What the model was trained on (absent in folders written before this was recorded). */
  trainedOn: trainedOnSchema.optional(),
  /** Accuracy on the labelled pictures held out of training, when there were any. */
  images: testSummarySchema.optional(),
  /**
   * How the run that made the model ended: finished, or stopped early (its model then holds the
   * weights of its last checkpoint, and the run can be resumed). Absent in exports of a bare
   * checkpoint and in folders written before runs recorded it.
   */
  status: z.enum(['finished', 'stopped']).optional(),
  /** The step the run reached, of `totalSteps`. */
  step: z.number().int().nonnegative().optional(),
  totalSteps: z.number().int().nonnegative().optional(),
  /** Best validation accuracy over the run's epochs, when it validated. */
  bestValidationAccuracy: z.number().min(0).max(1).optional(),
  /** Training seconds of the run, pauses excluded. */
  wallSeconds: z.number().nonnegative().optional(),
  backend: z.string().max(100),
  createdAt: z.string().max(100),
  app: z.string().max(100),
  /** SHA-256 of each weights file by its path in model.json; written by saveModelFolder. */
  weightsSha256: z.record(z.string(), SHA256).optional(),
});
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

/**
 * Digit Studio's metadata, or null with a note when the file is someone else's (another format):
 * plain tfjs ignores metadata.json, so a foreign one must not stop the model from loading.
 */
export function parseMetadata(value: unknown, file: string): { metadata: ModelMetadata | null; note?: string } {
  const format = typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
  if (format !== MODEL_FORMAT) {
    return { metadata: null, note: `${file} is not Digit Studio's (format ${JSON.stringify(format ?? null)}); it was ignored` };
  }
  return { metadata: parseWith(modelMetadataSchema, value, file) };
}

// ---------------------------------------------------------------------------------------------
// Topology

/** A shape without the batch dimension. */
type Shape = number[];

export interface TopologySummary {
  /** [28, 28, 1] or [784]. */
  input: Shape;
  /** [10]. */
  output: Shape;
  parameters: number;
  layers: number;
}

const positive = z.number().int().positive();
const pair = z.union([positive.transform((n): [number, number] => [n, n]), z.tuple([positive, positive])]);
const padding = z.enum(['valid', 'same']).nullish();
const dataFormat = z.enum(['channels_last', 'channels_first']).nullish();
const axisSchema = z.union([z.number().int(), z.array(z.number().int()).length(1).transform((a) => a[0])]).nullish();
const shapeSchema = z.array(z.number().int().positive().nullable()).min(1).max(8);

interface LayerContext {
  at: string;
  inputs: Shape[];
  config: Record<string, unknown>;
  /** Parses this layer's config fields; a problem names the layer and the field. */
  read<T>(schema: z.ZodType<T>): T;
}

interface LayerResult {
  output: Shape;
  parameters: number;
}

function single(ctx: LayerContext): Shape {
  if (ctx.inputs.length !== 1) throw new ModelFolderError(`${ctx.at}: takes one input, got ${ctx.inputs.length}`);
  return ctx.inputs[0];
}

function image(ctx: LayerContext, format: 'channels_last' | 'channels_first' | null | undefined) {
  const shape = single(ctx);
  if (shape.length !== 3) throw new ModelFolderError(`${ctx.at}: needs an image input [height, width, channels], got [${shape}]`);
  const first = format === 'channels_first';
  const [h, w, c] = first ? [shape[1], shape[2], shape[0]] : shape;
  return { h, w, c, make: (oh: number, ow: number, oc: number): Shape => (first ? [oc, oh, ow] : [oh, ow, oc]) };
}

function outputLength(size: number, kernel: number, stride: number, pad: 'valid' | 'same' | null | undefined, dilation = 1): number {
  const span = (kernel - 1) * dilation + 1;
  return pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - span) / stride) + 1;
}

const product = (shape: Shape) => shape.reduce((a, b) => a * b, 1);
const sameShape: (ctx: LayerContext) => LayerResult = (ctx) => ({ output: single(ctx), parameters: 0 });

function conv(ctx: LayerContext, kind: 'conv' | 'depthwise' | 'separable'): LayerResult {
  const c = ctx.read(
    z.looseObject({
      filters: kind === 'depthwise' ? positive.nullish() : positive,
      kernel_size: pair,
      strides: pair.nullish(),
      padding,
      data_format: dataFormat,
      dilation_rate: pair.nullish(),
      depth_multiplier: positive.nullish(),
      use_bias: z.boolean().nullish(),
    }),
  );
  const img = image(ctx, c.data_format);
  const [kh, kw] = c.kernel_size;
  const [sh, sw] = c.strides ?? [1, 1];
  const [dh, dw] = c.dilation_rate ?? [1, 1];
  const oh = outputLength(img.h, kh, sh, c.padding, dh);
  const ow = outputLength(img.w, kw, sw, c.padding, dw);
  const multiplier = c.depth_multiplier ?? 1;
  const outChannels = kind === 'depthwise' ? img.c * multiplier : (c.filters as number);
  let parameters = c.use_bias === false ? 0 : outChannels;
  if (kind === 'conv') parameters += kh * kw * img.c * outChannels;
  if (kind === 'depthwise') parameters += kh * kw * img.c * multiplier;
  if (kind === 'separable') parameters += kh * kw * img.c * multiplier + img.c * multiplier * outChannels;
  return { output: img.make(oh, ow, outChannels), parameters };
}

function pooling(ctx: LayerContext): LayerResult {
  const c = ctx.read(z.looseObject({ pool_size: pair.nullish(), strides: pair.nullish(), padding, data_format: dataFormat }));
  const img = image(ctx, c.data_format);
  const [ph, pw] = c.pool_size ?? [2, 2];
  const [sh, sw] = c.strides ?? [ph, pw];
  return { output: img.make(outputLength(img.h, ph, sh, c.padding), outputLength(img.w, pw, sw, c.padding), img.c), parameters: 0 };
}

function globalPooling(ctx: LayerContext): LayerResult {
  const c = ctx.read(z.looseObject({ data_format: dataFormat }));
  return { output: [image(ctx, c.data_format).c], parameters: 0 };
}

function channelAxis(ctx: LayerContext, shape: Shape): number {
  const { axis } = ctx.read(z.looseObject({ axis: axisSchema }));
  const a = axis ?? -1;
  const index = a < 0 ? shape.length + a : a - 1; // a positive axis counts the batch dimension
  if (index < 0 || index >= shape.length) throw new ModelFolderError(`${ctx.at}: axis ${axis} is outside the input [${shape}]`);
  return shape[index];
}

/**
 * The layer types a digit model is made of, with their output shape and parameter count. Adding
 * one is one line here; a type not listed is refused before building.
 */
const LAYER_RULES: Record<string, (ctx: LayerContext) => LayerResult> = {
  InputLayer: sameShape,
  Dense(ctx) {
    const c = ctx.read(z.looseObject({ units: positive, use_bias: z.boolean().nullish() }));
    const shape = single(ctx);
    const inputDim = shape[shape.length - 1];
    return { output: [...shape.slice(0, -1), c.units], parameters: inputDim * c.units + (c.use_bias === false ? 0 : c.units) };
  },
  Conv2D: (ctx) => conv(ctx, 'conv'),
  DepthwiseConv2D: (ctx) => conv(ctx, 'depthwise'),
  SeparableConv2D: (ctx) => conv(ctx, 'separable'),
  MaxPooling2D: pooling,
  AveragePooling2D: pooling,
  GlobalAveragePooling2D: globalPooling,
  GlobalMaxPooling2D: globalPooling,
  Flatten: (ctx) => ({ output: [product(single(ctx))], parameters: 0 }),
  Reshape(ctx) {
    const { target_shape } = ctx.read(z.looseObject({ target_shape: z.array(z.number().int().min(-1).refine((n) => n !== 0)).min(1).max(8) }));
    const size = product(single(ctx));
    const known = product(target_shape.filter((n) => n !== -1));
    const free = target_shape.filter((n) => n === -1).length;
    const output = target_shape.map((n) => (n === -1 ? size / known : n));
    if (free > 1 || product(output) !== size || !output.every(Number.isInteger)) {
      throw new ModelFolderError(`${ctx.at}: cannot reshape [${single(ctx)}] to [${target_shape}]`);
    }
    return { output, parameters: 0 };
  },
  BatchNormalization(ctx) {
    const c = ctx.read(z.looseObject({ center: z.boolean().nullish(), scale: z.boolean().nullish() }));
    const shape = single(ctx);
    const channels = channelAxis(ctx, shape);
    return { output: shape, parameters: channels * (2 + (c.center === false ? 0 : 1) + (c.scale === false ? 0 : 1)) };
  },
  LayerNormalization(ctx) {
    const c = ctx.read(z.looseObject({ center: z.boolean().nullish(), scale: z.boolean().nullish() }));
    const shape = single(ctx);
    const channels = channelAxis(ctx, shape);
    return { output: shape, parameters: channels * ((c.center === false ? 0 : 1) + (c.scale === false ? 0 : 1)) };
  },
  ZeroPadding2D(ctx) {
    const c = ctx.read(
      z.looseObject({
        padding: z.union([z.number().int().nonnegative(), z.array(z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).length(2)])).length(2)]).nullish(),
        data_format: dataFormat,
      }),
    );
    const img = image(ctx, c.data_format);
    const pad = c.padding ?? 1;
    const [[t, b], [l, r]] = typeof pad === 'number' ? [[pad, pad], [pad, pad]] : pad.map((p) => (typeof p === 'number' ? [p, p] : p));
    return { output: img.make(img.h + t + b, img.w + l + r, img.c), parameters: 0 };
  },
  UpSampling2D(ctx) {
    const c = ctx.read(z.looseObject({ size: pair.nullish(), data_format: dataFormat }));
    const img = image(ctx, c.data_format);
    const [fh, fw] = c.size ?? [2, 2];
    return { output: img.make(img.h * fh, img.w * fw, img.c), parameters: 0 };
  },
  Dropout: sameShape,
  SpatialDropout2D: sameShape,
  GaussianNoise: sameShape,
  GaussianDropout: sameShape,
  AlphaDropout: sameShape,
  Activation: sameShape,
  ReLU: sameShape,
  LeakyReLU: sameShape,
  ELU: sameShape,
  Softmax: sameShape,
  ThresholdedReLU: sameShape,
  Add: merge,
  Average: merge,
  Maximum: merge,
  Minimum: merge,
  Multiply: merge,
  Concatenate(ctx) {
    const { axis } = ctx.read(z.looseObject({ axis: z.number().int().nullish() }));
    const shapes = ctx.inputs;
    const rank = shapes[0]?.length ?? 0;
    const index = (axis ?? -1) < 0 ? rank + (axis ?? -1) : (axis as number) - 1;
    if (shapes.length < 2 || index < 0 || index >= rank || shapes.some((s) => s.length !== rank || s.some((d, i) => i !== index && d !== shapes[0][i]))) {
      throw new ModelFolderError(`${ctx.at}: cannot concatenate ${shapes.map((s) => `[${s}]`).join(', ')} on axis ${axis ?? -1}`);
    }
    const output = [...shapes[0]];
    output[index] = shapes.reduce((sum, s) => sum + s[index], 0);
    return { output, parameters: 0 };
  },
};

function sameShapes(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function merge(ctx: LayerContext): LayerResult {
  const [first, ...rest] = ctx.inputs;
  if (!first || rest.length === 0 || rest.some((s) => !sameShapes(s, first))) {
    throw new ModelFolderError(`${ctx.at}: needs two or more inputs of one shape, got ${ctx.inputs.map((s) => `[${s}]`).join(', ')}`);
  }
  return { output: first, parameters: 0 };
}

const layerSchema = z.looseObject({
  class_name: z.string(),
  config: z.record(z.string(), z.unknown()),
  name: z.string().optional(),
  inbound_nodes: z.array(z.unknown()).optional(),
});
type LayerJson = z.infer<typeof layerSchema>;

const sequentialSchema = z.looseObject({
  class_name: z.literal('Sequential'),
  config: z.union([
    z.looseObject({ layers: z.array(z.unknown()).max(MODEL_FOLDER_LIMITS.layers) }),
    z.array(z.unknown()).max(MODEL_FOLDER_LIMITS.layers).transform((layers) => ({ layers })),
  ]),
});

const nodeRef = z.tuple([z.string(), z.number().int().nonnegative(), z.number().int().nonnegative()]).rest(z.unknown());
const functionalSchema = z.looseObject({
  class_name: z.enum(['Model', 'Functional']),
  config: z.looseObject({
    layers: z.array(z.unknown()).max(MODEL_FOLDER_LIMITS.layers),
    input_layers: z.array(nodeRef),
    output_layers: z.array(nodeRef),
  }),
});

/** Follows the shapes through the topology: input and output shapes, parameter count. */
class TopologyWalker {
  private layers = 0;
  private parameters = 0;
  constructor(private readonly file: string) {}

  summary(topology: Record<string, unknown>): TopologySummary {
    // Keras' converter wraps the model as {model_config, keras_version, ...}; tfjs reads both.
    const model = (typeof topology.model_config === 'object' && topology.model_config !== null ? topology.model_config : topology) as Record<string, unknown>;
    const prefix = model === topology ? ['modelTopology'] : ['modelTopology', 'model_config'];
    const { input, output } = this.model(model, prefix, null);
    return { input, output, parameters: this.parameters, layers: this.layers };
  }

  private model(model: Record<string, unknown>, prefix: PropertyKey[], given: Shape | null): { input: Shape; output: Shape } {
    const className = model.class_name;
    if (className === 'Sequential') return this.sequential(parseWith(sequentialSchema, model, this.file, prefix).config.layers, [...prefix, 'config', 'layers'], given);
    if (className === 'Model' || className === 'Functional') {
      const result = this.functional(parseWith(functionalSchema, model, this.file, prefix).config, [...prefix, 'config'], given);
      if (given && !sameShapes(given, result.input)) fail(this.file, `${prefix.join('.')}: this nested model takes [${result.input}] but gets [${given}]`);
      return result;
    }
    fail(this.file, `${[...prefix, 'class_name'].join('.')}: expected a Sequential or functional model, got ${JSON.stringify(className ?? null)}`);
  }

  private layerJson(value: unknown, prefix: PropertyKey[]): LayerJson {
    this.layers++;
    if (this.layers > MODEL_FOLDER_LIMITS.layers) fail(this.file, `more than ${MODEL_FOLDER_LIMITS.layers} layers; refused`);
    return parseWith(layerSchema, value, this.file, prefix);
  }

  private declaredInput(layer: LayerJson, at: string): Shape | null {
    const c = parseWith(
      z.looseObject({ batch_input_shape: shapeSchema.nullish(), input_shape: shapeSchema.nullish(), batch_shape: shapeSchema.nullish() }),
      layer.config,
      this.file,
      [at],
    );
    const batched = c.batch_input_shape ?? c.batch_shape;
    const shape = batched ? batched.slice(1) : c.input_shape;
    if (!shape) return null;
    if (!shape.every((d) => d !== null)) fail(this.file, `${at}: input shape [${shape.map(String)}] has unknown sizes; expected [28, 28, 1] or [784]`);
    return shape as Shape;
  }

  private apply(layer: LayerJson, inputs: Shape[], prefix: PropertyKey[]): Shape {
    const at = `layer ${JSON.stringify(layer.config.name ?? layer.name ?? prefix.at(-1))} (${layer.class_name})`;
    if (layer.class_name === 'Sequential' || layer.class_name === 'Model' || layer.class_name === 'Functional') {
      if (inputs.length !== 1) fail(this.file, `${at}: takes one input, got ${inputs.length}`);
      return this.model(layer as Record<string, unknown>, prefix, inputs[0]).output;
    }
    const rule = Object.hasOwn(LAYER_RULES, layer.class_name) ? LAYER_RULES[layer.class_name] : undefined;
    if (!rule) fail(this.file, `${at}: layer type ${layer.class_name} is not one Digit Studio can check before building, so the model is refused`);
    const ctx: LayerContext = {
      at,
      inputs,
      config: layer.config,
      read: (schema) => parseWith(schema, layer.config, this.file, [...prefix, 'config']),
    };
    let result: LayerResult;
    try {
      result = rule(ctx);
    } catch (error) {
      if (error instanceof ModelFolderError && !error.message.startsWith(`${this.file}:`)) fail(this.file, error.message);
      throw error;
    }
    const { output, parameters } = result;
    if (!output.every((d) => Number.isInteger(d) && d > 0)) fail(this.file, `${at}: its output [${output}] is empty or invalid for input [${inputs[0]}]`);
    this.parameters += parameters;
    if (this.parameters > MODEL_FOLDER_LIMITS.parameters) {
      fail(this.file, `${at}: the model declares more than ${MODEL_FOLDER_LIMITS.parameters} parameters (${this.parameters} so far); refused before building it`);
    }
    if (product(output) > MODEL_FOLDER_LIMITS.activationsPerImage) {
      fail(this.file, `${at}: produces ${product(output)} values per image, more than the ${MODEL_FOLDER_LIMITS.activationsPerImage} allowed; refused`);
    }
    return output;
  }

  private sequential(layers: unknown[], prefix: PropertyKey[], given: Shape | null): { input: Shape; output: Shape } {
    if (layers.length === 0) fail(this.file, `${prefix.join('.')}: the model has no layers`);
    const first = this.layerJson(layers[0], [...prefix, 0]);
    const input = given ?? this.declaredInput(first, `${prefix.join('.')}[0]`);
    if (!input) fail(this.file, `${prefix.join('.')}[0]: the first layer declares no input shape`);
    if (!given) checkInput(input, this.file);
    let shape = this.apply(first, [input], [...prefix, 0]);
    for (let i = 1; i < layers.length; i++) shape = this.apply(this.layerJson(layers[i], [...prefix, i]), [shape], [...prefix, i]);
    return { input, output: shape };
  }

  private functional(config: z.infer<typeof functionalSchema>['config'], prefix: PropertyKey[], given: Shape | null): { input: Shape; output: Shape } {
    if (config.input_layers.length !== 1 || config.output_layers.length !== 1) {
      fail(this.file, `${prefix.join('.')}: the model has ${config.input_layers.length} inputs and ${config.output_layers.length} outputs; expected one image input and one output of 10 probabilities`);
    }
    const shapes = new Map<string, Shape>();
    let input: Shape | null = null;
    config.layers.forEach((value, i) => {
      const at = [...prefix, 'layers', i];
      const layer = this.layerJson(value, at);
      const name = layer.name ?? String(layer.config.name ?? '');
      if (!name || shapes.has(name)) fail(this.file, `${at.join('.')}: missing or repeated layer name ${JSON.stringify(name)}`);
      const nodes = parseWith(z.array(z.array(nodeRef)).max(1), layer.inbound_nodes ?? [], this.file, [...at, 'inbound_nodes']);
      let inputs: Shape[];
      if (nodes.length === 0) {
        if (layer.class_name !== 'InputLayer') fail(this.file, `${at.join('.')}: layer ${name} has no inputs`);
        if (name !== config.input_layers[0][0]) fail(this.file, `${at.join('.')}: input layer ${name} is not the model's input`);
        input = this.declaredInput(layer, at.join('.'));
        if (!input) fail(this.file, `${at.join('.')}: the input layer declares no shape`);
        if (!given) checkInput(input, this.file);
        inputs = [input];
      } else {
        inputs = nodes[0].map(([from, node, tensor]) => {
          const shape = shapes.get(from);
          if (!shape || node !== 0 || tensor !== 0) fail(this.file, `${[...at, 'inbound_nodes'].join('.')}: refers to ${from}[${node}][${tensor}], which is not an earlier layer's output`);
          return shape;
        });
      }
      shapes.set(name, this.apply(layer, inputs, at));
    });
    const output = shapes.get(config.output_layers[0][0]);
    if (!input || !output) fail(this.file, `${prefix.join('.')}: the input or output layer is missing from the layers`);
    return { input, output };
  }
}

function checkInput(shape: Shape, file: string): void {
  const ok = (shape.length === 3 && shape[0] === IMAGE_SIZE && shape[1] === IMAGE_SIZE && shape[2] === 1) || (shape.length === 1 && shape[0] === PIXELS);
  if (!ok) fail(file, `the model takes input [batch, ${shape.join(', ')}]; Digit Studio needs [batch, 28, 28, 1] or [batch, 784] (28x28 greyscale images)`);
}

/**
 * Input shape, output shape and parameter count of a tfjs layers topology, computed from the JSON
 * alone. Refuses (ModelFolderError naming `file` and the field or layer) a malformed topology, a
 * layer type it does not know, an input other than 28x28x1 / 784, an output other than 10 values,
 * and sizes over MODEL_FOLDER_LIMITS.
 */
export function analyseTopology(topology: Record<string, unknown>, file: string): TopologySummary {
  const summary = new TopologyWalker(file).summary(topology);
  if (summary.output.length !== 1 || summary.output[0] !== CLASSES) {
    fail(file, `the model outputs [batch, ${summary.output.join(', ')}]; Digit Studio needs [batch, 10] (one probability per digit)`);
  }
  return summary;
}
