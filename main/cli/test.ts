/**
 * `digits test`: the seed's mnist_test.py: test-set metrics of a model folder, on MNIST's test
 * set or (with `--images DIR`) on a labelled picture folder, each mistake naming its file.
 */
import { evaluateModel, type EvaluationMetrics } from '../ml/evaluate.ts';
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
    let metrics: EvaluationMetrics;
    let files: string[] | null = null;
    let failed: { file: string; error: string }[] = [];
    try {
      if (imagesDir !== undefined) {
        // The folder summary goes to standard error, so --json output stays one document.
        const folder = await openPictures(imagesDir, false, console.error);
        metrics = evaluateModel(model, folder.pictures);
        files = folder.pictures.files;
        failed = folder.failed.map(({ file, error }) => ({ file, error }));
      } else {
        metrics = evaluateModel(model, (await openData(flags)).test);
      }
    } finally {
      model.dispose();
    }
    if (json) {
      const { accuracy, loss, count, confusion, perClass, mistakes } = metrics;
      if (files) {
        const named = mistakes.map((m) => ({ file: files[m.index], label: m.label, predicted: m.predicted, confidence: m.confidence }));
        printJson({ accuracy, loss, count, confusion, perClass, mistakes: named, failed });
      } else {
        printJson({ accuracy, loss, count, confusion, perClass, misclassified: mistakes.map((m) => m.index) });
      }
      return 0;
    }
    const what = files ? 'pictures' : 'images';
    console.log(`${files ? 'Accuracy' : 'Test accuracy'} ${(metrics.accuracy * 100).toFixed(2)}% on ${metrics.count} ${what}, loss ${metrics.loss.toFixed(4)}`);
    console.log('\nConfusion matrix (rows: true digit, columns: predicted)');
    console.log('      ' + metrics.confusion.map((_, c) => String(c).padStart(5)).join(''));
    metrics.confusion.forEach((row, r) => console.log(`  ${r}:  ` + row.map((v) => String(v).padStart(5)).join('')));
    console.log(`\nDigit  precision  recall  ${what}`);
    for (const c of metrics.perClass) {
      console.log(`  ${c.digit}      ${(c.precision * 100).toFixed(2).padStart(6)}%  ${(c.recall * 100).toFixed(2).padStart(6)}%  ${c.support}`);
    }
    if (files && metrics.mistakes.length > 0) {
      console.log(`\nMistakes (most confident first${metrics.mistakes.length > MISTAKES_SHOWN ? `, ${MISTAKES_SHOWN} of ${metrics.mistakes.length}` : ''}):`);
      for (const m of metrics.mistakes.slice(0, MISTAKES_SHOWN)) {
        console.log(`  ${files[m.index]}: a ${m.label} read as ${m.predicted} (${(m.confidence * 100).toFixed(0)}%)`);
      }
    }
    if (failed.length > 0) console.log(`\n${failed.length} pictures could not be read (listed above).`);
    return 0;
  },
};
