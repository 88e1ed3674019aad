/**
 * A FolderFs for tests that simulates a crash (power cut, kill -9) at a chosen write step: the
 * step fails (a file write leaves half its bytes, unsynced), and from then on every call fails,
 * as nothing runs after a crash, not even the writer's clean-up. Steps are the calls that change
 * the disk: writeFileSynced, rename, remove.
 */
import { nodeFolderFs, type FolderFs } from './atomicFolder.ts';

export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

export interface CrashingFs extends FolderFs {
  /** The steps completed before the crash, as `op path [-> path]`. */
  readonly steps: string[];
  readonly crashed: boolean;
}

/**
 * Crashes at step `crashAt` (0-based); Infinity never crashes and just records the steps. With
 * `only`, just those operations count as steps (e.g. renames and removes, not file writes).
 */
export function crashingFs(crashAt: number, base: FolderFs = nodeFolderFs, only?: ('write' | 'rename' | 'remove')[]): CrashingFs {
  const steps: string[] = [];
  let counted = 0;
  let crashed = false;
  const alive = () => {
    if (crashed) throw new SimulatedCrash('the process is gone');
  };
  const step = async (description: string, run: () => Promise<void>, crash?: () => Promise<void>) => {
    alive();
    const counts = !only || only.some((op) => description.startsWith(`${op} `));
    if (counts && counted++ === crashAt) {
      crashed = true;
      await crash?.();
      throw new SimulatedCrash(`crashed at ${description}`);
    }
    await run();
    steps.push(description);
  };
  return {
    steps,
    get crashed() {
      return crashed;
    },
    mkdirp: async (dir) => (alive(), base.mkdirp(dir)),
    syncDirectory: async (dir) => (alive(), base.syncDirectory(dir)),
    readdir: async (dir) => (alive(), base.readdir(dir)),
    lstat: async (target) => (alive(), base.lstat(target)),
    readFile: async (file) => (alive(), base.readFile(file)),
    writeFileSynced: (file, contents) =>
      step(
        `write ${file}`,
        () => base.writeFileSynced(file, contents),
        () => base.writeFileSynced(file, contents.slice(0, Math.floor(contents.length / 2))),
      ),
    rename: (from, to) => step(`rename ${from} -> ${to}`, () => base.rename(from, to)),
    remove: (target) => step(`remove ${target}`, () => base.remove(target)),
  };
}
