/**
 * `digits test`: the seed's mnist_test.py: test-set metrics of a model folder, on MNIST's test
 * set or (with `--images DIR`) on a labelled picture folder, each mistake naming its file.
 */
import { evaluateModel, evaluatePictures, setMetricsOf, type EvaluationMetrics, type PictureEvaluation, type SetMetrics } from '../ml/evaluate.ts';
import { UsageError } from './errors.ts';
import { modelDirFlag, openBackend, openData, openModel, openPictures, printJson, stringFlag, type Command } from './options.ts';

/** Mistakes listed in the text output (the JSON lists all of them). */
const MISTAKES_SHOWN = 20;

export const testCommand: Command = {
  async run(flags) {
    const modelDir = await modelDirFlag(flags);
    const imagesDir = stringFlag(flags, 'images');
    if (imagesDir !== undefined && stringFlag(flags, 'data') !== undefined) throw new UsageError('give --data (MNIST files) or --images (pictures), not both');
    const json = flags.json === true;
    await openBackend(flags);
    const { model } = await openModel(modelDir);
    let testSet: EvaluationMetrics | null = null;
    let pictures: PictureEvaluation | null = null;
    try {
      if (imagesDir !== undefined) {
        // The folder summary goes to standard error, so --json output stays one document.
        pictures = evaluatePictures(model, await openPictures(imagesDir, false, console.error));
      } else {
        testSet = evaluateModel(model, (await openData(flags)).test);
      }
    } finally {
      model.dispose();
    }
    const metrics: SetMetrics = setMetricsOf((pictures ?? testSet)!);
    if (json) {
      if (pictures) printJson({ ...metrics, mistakes: pictures.mistakes, failed: pictures.failed });
      else printJson({ ...metrics, misclassified: testSet!.mistakes.map((m) => m.index) });
      return 0;
    }
    const what = pictures ? 'pictures' : 'images';
    console.log(`${pictures ? 'Accuracy' : 'Test accuracy'} ${(metrics.accuracy * 100).toFixed(2)}% on ${metrics.count} ${what}, loss ${metrics.loss.toFixed(4)}`);
    console.log('\nConfusion matrix (rows: true digit, columns: predicted)');
    console.log('      ' + metrics.confusion.map((_, c) => String(c).padStart(5)).join(''));
    metrics.confusion.forEach((row, r) => console.log(`  ${r}:  ` + row.map((v) => String(v).padStart(5)).join('')));
    console.log(`\nDigit  precision  recall  ${what}`);
    for (const c of metrics.perClass) {
      console.log(`  ${c.digit}      ${(c.precision * 100).toFixed(2).padStart(6)}%  ${(c.recall * 100).toFixed(2).padStart(6)}%  ${c.support}`);
    }
    if (pictures && pictures.mistakes.length > 0) {
      const { mistakes } = pictures;
      console.log(`\nMistakes (most confident first${mistakes.length > MISTAKES_SHOWN ? `, ${MISTAKES_SHOWN} of ${mistakes.length}` : ''}):`);
      for (const m of mistakes.slice(0, MISTAKES_SHOWN)) {
        console.log(`  ${m.file}: a ${m.label} read as ${m.predicted} (${(m.confidence * 100).toFixed(0)}%)`);
      }
    }
    if (pictures && pictures.failed.length > 0) console.log(`\n${pictures.failed.length} pictures could not be read (listed above).`);
    return 0;
  },
};
