/**
 * A gradient worker thread (see parallelGradients.ts): its own tfjs and WebAssembly instance and
 * its own copy of the model. At each step it loads the weights the trainer wrote to shared
 * memory, computes the gradients of its shard of the shared batch and writes them to its slot.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import { selectBackend } from './backend.ts';
import { gradientsOf, shardLosses, trainableVariables } from './gradientStep.ts';
import { MlpKernel, kernelShard, mlpShapeOf } from './mlpKernel.ts';
import { PRESETS, createModel } from './models.ts';
import type { WorkerInit, WorkerReply, WorkerStep } from './parallelGradients.ts';

if (!parentPort) throw new Error('gradientWorker.ts runs as a worker thread (parallelGradients.ts starts it)');
const port = parentPort;
const reply = (message: WorkerReply) => port.postMessage(message);

async function start(init: WorkerInit): Promise<(step: WorkerStep) => void> {
  await selectBackend(init.backend);
  const model = createModel(init.preset, init.seed);
  const variables = trainableVariables(model);
  const weights = new Float32Array(init.weights);
  const gradients = new Float32Array(init.gradients);
  const xs = new Float32Array(init.xs);
  const labels = new Int32Array(init.labels);
  const lossOf = shardLosses(model, PRESETS[init.preset].recipe, xs, labels);
  const shape = init.fusedMlp ? mlpShapeOf(model) : null;
  const kernel = shape ? new MlpKernel(shape, init.batchSize) : null;
  return (step) => {
    const shard = { start: step.start, end: step.end, total: step.total, withPenalty: false };
    const kernelLoss = kernel ? kernelShard(kernel, weights, init.slots, xs, labels, shard) : null;
    if (kernelLoss !== null) {
      init.slots.forEach(({ offset }, i) => gradients.set(kernel!.gradients[i], offset));
      reply({ type: 'done', loss: kernelLoss });
      return;
    }
    tf.tidy(() => variables.forEach((v, i) => {
      const { offset, size, shape } = init.slots[i];
      v.assign(tf.tensor(weights.subarray(offset, offset + size), shape, 'float32'));
    }));
    const own = gradientsOf(lossOf(shard), variables);
    variables.forEach((v, i) => gradients.set(own.gradients[v.name].dataSync() as Float32Array, init.slots[i].offset));
    tf.dispose(own.gradients);
    reply({ type: 'done', loss: own.loss });
  };
}

let run: ((step: WorkerStep) => void) | null = null;
port.on('message', (message: WorkerInit | WorkerStep) => {
  try {
    if (message.type === 'init') {
      start(message).then(
        (step) => {
          run = step;
          reply({ type: 'ready' });
        },
        (error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
      );
    } else if (run) {
      run(message);
    } else {
      throw new Error('step before init');
    }
  } catch (error) {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
