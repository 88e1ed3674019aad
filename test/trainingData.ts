/**
 * The set-up the training tests share: the WASM backend (what these machines run) and real MNIST
 * with small validation and test subsets, so training tests stay quick on a portable backend.
 */
import { selectBackend } from '../main/ml/backend.ts';
import { sliceImageSet, type MnistSplits } from '../main/ml/dataset.ts';
import { loadMnist } from '../main/ml/mnist.ts';

/** Selects the WASM backend and loads MNIST with the first `validation` and `test` images of those sets. */
export async function mnistOnWasm(validation: number, test: number): Promise<MnistSplits> {
  await selectBackend('wasm');
  const full = await loadMnist();
  return { ...full, validation: sliceImageSet(full.validation, 0, validation), test: sliceImageSet(full.test, 0, test) };
}
