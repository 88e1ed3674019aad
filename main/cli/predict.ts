/** `digits predict`: the seed's mnist_app.py, for any number of files at once. */
import { loadModelFolder } from '../ml/modelFolder.ts';
import { isFailure, predictImages } from '../ml/predict.ts';
import type { Command } from './digits.ts';
import { UsageError } from './errors.ts';
import { openBackend, printJson, requiredString } from './options.ts';

export const predictCommand: Command = {
  summary: 'Read the digit in each image file (PNG, JPEG, WebP, GIF, TIFF, ...). Exit code 1 if any file failed.',
  usage: 'digits predict --model DIR [--seed-preprocessing] [--backend native|wasm|cpu] [--json] FILE...',
  options: {
    model: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    'seed-preprocessing': { type: 'boolean' },
  },
  positionals: true,
  async run(flags, files) {
    const modelDir = requiredString(flags, 'model');
    if (files.length === 0) throw new UsageError('name at least one image file');
    await openBackend(flags);
    const { model } = await loadModelFolder(modelDir);
    const mode = flags['seed-preprocessing'] === true ? 'seed' : 'mnist';
    const results = await predictImages(model, files, { mode });
    model.dispose();
    if (flags.json === true) {
      printJson(results.map((r) => (isFailure(r) ? { file: r.file, error: r.error } : { file: r.file, digit: r.digit, probabilities: r.probabilities })));
    } else {
      for (const r of results) {
        if (isFailure(r)) console.log(`${r.file}: error: ${r.error}`);
        else console.log(`${r.file}: ${r.digit} (${(r.confidence * 100).toFixed(1)}%)`);
      }
    }
    return results.some(isFailure) ? 1 : 0;
  },
};
