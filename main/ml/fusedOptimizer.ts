/**
 * The optimizer update and the moving average of the weights as single passes over each
 * variable, for the portable backends. tfjs's optimizers spend about ten tensor ops per variable
 * on an Adam step (each a pass over the weights and a fresh WebAssembly allocation), and the
 * moving average three more: about 9 ms a step of the `fast` preset on one core, as long as its
 * fused gradients (mlpKernel.ts). Here each is one f32x4 loop in our WebAssembly module
 * (assembly/mlpStep.ts), which also keeps Adam's moments and the moving averages (written to
 * their variables on demand); the weights are copied in and out.
 *
 * Same arithmetic as tfjs's SGDOptimizer / AdamOptimizer (default betas, the backend's epsilon)
 * up to float rounding, and the same saved state: `getWeights` / `setWeights` use tfjs's names
 * and order (`iter`, then `<variable>/m` for every variable, then `<variable>/v`), matched by
 * position as tfjs does, so a checkpoint written by either resumes with either.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from './checkpoint.ts';
import { heapView } from './gradientStep.ts';
import { UpdateKernel } from './mlpKernel.ts';
import type { OptimizerName } from './models.ts';

/** tfjs's defaults for tf.train.adam. */
const BETA1 = 0.9;
const BETA2 = 0.999;

/** A variable's values to read: its WebAssembly memory on the WASM backend (no copy), else a copy. */
function valuesOf(tensor: tf.Tensor): Float32Array {
  return heapView(tensor) ?? (tensor.dataSync() as Float32Array);
}

/**
 * Gives `variable` the new `values` as a fresh tensor. Never in place: the WASM backend caches
 * XNNPACK operators with the weights packed, keyed by the weights' data, so a matrix multiply
 * would go on using the old values of a variable written in place (seen: evaluation with stale
 * moving averages).
 */
function store(variable: tf.Variable, values: Float32Array): void {
  // The WASM backend copies `values` into its memory; the cpu backend would keep the array itself.
  const owned = tf.getBackend() === 'wasm' ? values : values.slice();
  tf.tidy(() => variable.assign(tf.tensor(owned, variable.shape, 'float32')));
}

/** Per variable (by position): its weights and Adam's moments in the kernel's memory. */
interface Slot {
  shape: number[];
  size: number;
  w: number;
  m: number;
  v: number;
  /** The moving average (0 until `updateAverages` first runs). */
  a: number;
  /** The variable data whose values `w` holds (none yet: null). */
  held: object | null;
  /** Names the moments are saved under (tfjs's `<variable>/m`, `<variable>/v`). */
  names: [string, string];
}

export class FusedOptimizer {
  /** Read at every step (the trainer's schedule sets it), as tfjs's Adam reads its field. */
  learningRate: number;
  private iterations = 0;
  private readonly kernel = new UpdateKernel();
  private slots: Slot[] = [];
  /** Scratch for a gradient, grown to the largest variable. */
  private scratch = { at: 0, size: 0 };
  private readonly epsilon: number;
  /** Whether the slots hold moving averages newer than the tfjs variables. */
  private averagesHeld = false;
  /** Tensors handed out by the last getWeights (the caller disposes only `iter`). */
  private lent: tf.Tensor[] = [];

  constructor(
    readonly kind: OptimizerName,
    learningRate: number,
  ) {
    this.learningRate = learningRate;
    this.epsilon = tf.backend().epsilon();
  }

  /** One step: every named variable moves along its gradient (tfjs's NamedTensor list). */
  applyGradients(gradients: NamedTensor[]): void {
    this.applyValues(
      gradients.map(({ name }) => {
        const variable = tf.engine().registeredVariables[name];
        if (!variable) throw new Error(`no variable named ${name} to update`);
        return variable;
      }),
      gradients.map(({ tensor }) => valuesOf(tensor)),
    );
  }

  /**
   * One step from gradients given as float arrays, in `variables`' order (no tensors made: the
   * fused MLP step hands its gradients over this way). Take heap views after any allocation.
   */
  applyValues(variables: tf.Variable[], gradients: Float32Array[]): void {
    const step = this.iterations + 1;
    const c1 = 1 - BETA1 ** step;
    const c2 = 1 - BETA2 ** step;
    variables.forEach((variable, i) => {
      const slot = this.slot(i, variable.name, variable.shape);
      const g = this.scratchFor(slot.size);
      // Views after the last reservation (a growing memory detaches older ones).
      this.holdWeights(slot, variable);
      this.kernel.view(g, slot.size).set(gradients[i]);
      if (this.kind === 'sgd') this.kernel.sgd(slot.w, g, slot.size, this.learningRate);
      else this.kernel.adam(slot.w, g, slot.m, slot.v, slot.size, this.learningRate, BETA1, BETA2, c1, c2, this.epsilon);
      store(variable, this.kernel.view(slot.w, slot.size));
      slot.held = variable.dataId;
    });
    this.iterations = step;
  }

  /**
   * averages[i] = decay * averages[i] + (1 - decay) * variables[i] (TF's ExponentialMovingAverage),
   * kept in this optimizer's memory: `averages` is read at the first call and written only by
   * `writeAverages` (before anything reads it: evaluation, a checkpoint, the run's end).
   */
  updateAverages(averages: tf.Variable[], variables: tf.Variable[], decay: number): void {
    averages.forEach((average, i) => {
      const slot = this.slot(i, variables[i].name, average.shape);
      if (slot.a === 0) {
        slot.a = this.kernel.reserve(slot.size);
        this.kernel.view(slot.a, slot.size).set(valuesOf(average));
      }
      this.holdWeights(slot, variables[i]);
      this.kernel.average(slot.a, slot.w, slot.size, decay);
    });
    this.averagesHeld = true;
  }

  /** Writes the moving averages kept by `updateAverages` into `averages`. */
  writeAverages(averages: tf.Variable[]): void {
    if (!this.averagesHeld) return;
    averages.forEach((average, i) => {
      const slot = this.slots[i];
      if (slot?.a) store(average, this.kernel.view(slot.a, slot.size));
    });
  }

  /** tfjs's format: `iter` (int32 scalar, the caller's to dispose), then every m, then every v. */
  async getWeights(): Promise<NamedTensor[]> {
    tf.dispose(this.lent);
    const moments = this.kind === 'adam' ? this.slots : [];
    const named = [...moments.map((s) => ({ name: s.names[0], at: s.m, slot: s })), ...moments.map((s) => ({ name: s.names[1], at: s.v, slot: s }))].map(
      ({ name, at, slot }) => ({ name, tensor: tf.tensor(this.kernel.view(at, slot.size).slice(), slot.shape, 'float32') }),
    );
    this.lent = named.map((n) => n.tensor);
    return [{ name: 'iter', tensor: tf.scalar(this.iterations, 'int32') }, ...named];
  }

  /** Restores what `getWeights` (or tfjs's optimizer of the same kind) saved. */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    const [iter, ...moments] = weights;
    if (iter?.name !== 'iter') throw new Error('optimizer state without its iteration count');
    if (this.kind === 'sgd' && moments.length > 0) throw new Error('SGD has no moments to restore');
    this.iterations = (await iter.tensor.data())[0];
    const half = moments.length / 2;
    const values = await Promise.all(moments.map((n) => n.tensor.data() as Promise<Float32Array>));
    for (let i = 0; i < half; i++) {
      const size = values[i].length;
      const slot = this.slot(i, moments[i].name.replace(/\/m$/, ''), moments[i].tensor.shape);
      slot.names = [moments[i].name, moments[half + i].name];
      this.kernel.view(slot.m, size).set(values[i]);
      this.kernel.view(slot.v, size).set(values[half + i]);
    }
  }

  dispose(): void {
    tf.dispose(this.lent);
    this.lent = [];
  }

  private slot(i: number, name: string, shape: number[]): Slot {
    const size = shape.reduce((a, b) => a * b, 1);
    let slot = this.slots[i];
    if (!slot) {
      const adam = this.kind === 'adam';
      slot = { shape, size, w: this.kernel.reserve(size), m: adam ? this.kernel.reserve(size) : 0, v: adam ? this.kernel.reserve(size) : 0, a: 0, held: null, names: [`${name}/m`, `${name}/v`] };
      this.slots[i] = slot;
    }
    if (slot.size !== size) throw new Error(`optimizer state for ${name} has ${slot.size} values, the variable ${size}`);
    return slot;
  }

  /**
   * Puts the variable's values in the slot, unless the slot already holds them: the variable
   * still has the data our last update gave it (every assign gives a variable other data).
   */
  private holdWeights(slot: Slot, variable: tf.Variable): void {
    if (slot.held === variable.dataId) return;
    this.kernel.view(slot.w, slot.size).set(valuesOf(variable));
    slot.held = variable.dataId;
  }

  private scratchFor(size: number): number {
    if (this.scratch.size < size) this.scratch = { at: this.kernel.reserve(size), size };
    return this.scratch.at;
  }
}
