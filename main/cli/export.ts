/** `digits export`: a model folder from a run's latest checkpoint. */
import { isEmptyOrMissing } from '../ml/atomicFolder.ts';
import { withDestinationLock } from '../ml/folderLock.ts';
import { modelFolderRefusal } from '../ml/modelFolder.ts';
import { exportModel, modelFromCheckpoint } from '../ml/runs.ts';
import { UsageError } from './errors.ts';
import { openBackend, openData, printJson, requiredString, type Command } from './options.ts';

export const exportCommand: Command = {
  async run(flags) {
    const runDir = requiredString(flags, 'run');
    const toDir = requiredString(flags, 'to');
    const overwrite = flags.overwrite === true;
    // One export into a folder at a time: a second one waits for nothing and is refused.
    const { step, metrics } = await withDestinationLock(toDir, async () => {
      // Checked before the slow part; saveModelFolder checks again right before writing.
      const refusal = await modelFolderRefusal(toDir, { overwrite: true });
      if (refusal) throw new UsageError(refusal);
      if (!overwrite && !(await isEmptyOrMissing(toDir))) {
        throw new UsageError(`${toDir} already holds a model; pass --overwrite to replace it`);
      }
      await openBackend(flags);
      const { model, settings, step, notes } = await modelFromCheckpoint(runDir);
      for (const note of notes) console.error(`Note: ${note}`);
      const test = flags['no-test'] === true ? undefined : (await openData(flags)).test;
      try {
        return { step, metrics: await exportModel(model, settings, step, toDir, { overwrite, test }) };
      } finally {
        model.dispose();
      }
    });
    if (flags.json === true) printJson({ model: toDir, step, testAccuracy: metrics?.accuracy ?? null });
    else console.log(`Exported step ${step} of ${runDir} to ${toDir}` + (metrics ? ` (test accuracy ${(metrics.accuracy * 100).toFixed(2)}%)` : ''));
    return 0;
  },
};
