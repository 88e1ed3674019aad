/** `digits predict`: the seed's mnist_app.py, for any number of files at once. */
import { isFailure, predictImages, predictNumbers } from '../ml/predict.ts';
import { UsageError } from './errors.ts';
import { openBackend, openModel, printJson, modelDirFlag, type Command } from './options.ts';

export const predictCommand: Command = {
  async run(flags, files) {
    const modelDir = await modelDirFlag(flags);
    if (files.length === 0) throw new UsageError('name at least one image file');
    if (flags.number === true && flags['seed-preprocessing'] === true) {
      throw new UsageError('--number segments the picture itself; it cannot be combined with --seed-preprocessing');
    }
    await openBackend(flags);
    const { model } = await openModel(modelDir);
    const json = flags.json === true;
    let failed: boolean;
    if (flags.number === true) {
      const results = await predictNumbers(model, files);
      failed = results.some(isFailure);
      if (json) {
        printJson(results.map((r) => (isFailure(r) ? { file: r.file, error: r.error } : { file: r.file, number: r.number, digits: r.digits.map((d) => ({ digit: d.digit, probabilities: d.probabilities })) })));
      } else {
        for (const r of results) console.log(isFailure(r) ? `${r.file}: error: ${r.error}` : `${r.file}: ${r.number} (${r.digits.map((d) => `${(d.confidence * 100).toFixed(0)}%`).join(' ')})`);
      }
    } else {
      const results = await predictImages(model, files, { mode: flags['seed-preprocessing'] === true ? 'seed' : 'mnist' });
      failed = results.some(isFailure);
      if (json) {
        printJson(results.map((r) => (isFailure(r) ? { file: r.file, error: r.error } : { file: r.file, digit: r.digit, probabilities: r.probabilities })));
      } else {
        for (const r of results) console.log(isFailure(r) ? `${r.file}: error: ${r.error}` : `${r.file}: ${r.digit} (${(r.confidence * 100).toFixed(1)}%)`);
      }
    }
    model.dispose();
    return failed ? 1 : 0;
  },
};
