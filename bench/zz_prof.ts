import { selectBackend } from '../main/ml/backend.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { trainModel } from '../main/ml/trainer.ts';
await selectBackend('wasm');
const data = await loadMnist();
const preset = (process.argv[2] ?? 'fast') as 'fast';
const r = await trainModel(data, { preset, runDir: `/tmp/h14mlp/prof-${Date.now()}`, steps: 200, validate: false, checkpointEvery: 1e9, threads: Number(process.argv[3] ?? 1) });
r.model.dispose();
