/** `digits test`: the seed's mnist_test.py: test-set metrics of a model folder. */
import { evaluateModel } from '../ml/evaluate.ts';
import { loadModelFolder } from '../ml/modelFolder.ts';
import { openBackend, openData, printJson, modelDirFlag, type Command } from './options.ts';

export const testCommand: Command = {
  async run(flags) {
    const modelDir = await modelDirFlag(flags);
    await openBackend(flags);
    const [{ model }, data] = await Promise.all([loadModelFolder(modelDir), openData(flags)]);
    const metrics = evaluateModel(model, data.test);
    model.dispose();
    if (flags.json === true) {
      const { accuracy, loss, count, confusion, perClass, mistakes } = metrics;
      printJson({ accuracy, loss, count, confusion, perClass, misclassified: mistakes.map((m) => m.index) });
      return 0;
    }
    console.log(`Test accuracy ${(metrics.accuracy * 100).toFixed(2)}% on ${metrics.count} images, loss ${metrics.loss.toFixed(4)}`);
    console.log('\nConfusion matrix (rows: true digit, columns: predicted)');
    console.log('      ' + metrics.confusion.map((_, c) => String(c).padStart(5)).join(''));
    metrics.confusion.forEach((row, r) => console.log(`  ${r}:  ` + row.map((v) => String(v).padStart(5)).join('')));
    console.log('\nDigit  precision  recall  images');
    for (const c of metrics.perClass) {
      console.log(`  ${c.digit}      ${(c.precision * 100).toFixed(2).padStart(6)}%  ${(c.recall * 100).toFixed(2).padStart(6)}%  ${c.support}`);
    }
    return 0;
  },
};
