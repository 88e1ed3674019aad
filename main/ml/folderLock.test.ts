import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, FolderLockedError, lockRefusal, runLockFile, withRunLock } from './folderLock.ts';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const lockModule = pathToFileURL(fileURLToPath(new URL('./folderLock.ts', import.meta.url))).href;

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-lock-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Another process that takes the run lock with the same module, says "locked", and then runs `then`. */
async function otherProcess(runDir: string, then: string): Promise<ChildProcess> {
  const script = `const { withRunLock } = await import(${JSON.stringify(lockModule)});
await withRunLock(${JSON.stringify(runDir)}, async () => { console.log('locked'); ${then} });`;
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => data.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the other process exited (${code}) before locking`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

describe('run folder locks', () => {
  it('refuse a second writer from another process, naming its pid, and free the run when it ends', async () => {
    const runDir = path.join(tmp, 'run');
    // The other process holds the lock until its stdin closes.
    const child = await otherProcess(runDir, "await new Promise((r) => process.stdin.on('close', r).resume());");
    const refused = await withRunLock(runDir, async () => 'trained').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FolderLockedError);
    expect((refused as FolderLockedError).pid).toBe(child.pid);
    expect((refused as Error).message).toMatch(new RegExp(`^run ${runDir} is in use by process ${child.pid} \\(since .+\\); wait for it to finish or stop it`));
    expect(await lockRefusal(runLockFile(runDir), `run ${runDir}`)).toMatch(`is in use by process ${child.pid}`);
    child.stdin!.end();
    await exited(child);
    expect(await readdir(runDir)).toEqual([]);
    expect(await withRunLock(runDir, async () => 'trained')).toBe('trained');
  });

  it('take over the lock of a process that died without releasing it', async () => {
    const runDir = path.join(tmp, 'run');
    const child = await otherProcess(runDir, "process.kill(process.pid, 'SIGKILL');");
    await exited(child);
    const stale = JSON.parse(await readFile(runLockFile(runDir), 'utf8'));
    expect(stale.pid).toBe(child.pid);
    expect(await lockRefusal(runLockFile(runDir), 'run')).toBeNull();
    // A temp file of a process that crashed while locking goes too.
    await writeFile(`${runLockFile(runDir)}.${child.pid}-0123456789abcdef.tmp`, '{}');
    const lock = await acquireLock(runLockFile(runDir), `run ${runDir}`);
    expect(JSON.parse(await readFile(runLockFile(runDir), 'utf8')).pid).toBe(process.pid);
    expect(await readdir(runDir)).toEqual(['run.lock']);
    await lock.release();
    expect(await readdir(runDir)).toEqual([]);
  });

  it('are released when the owner exits without releasing (process.exit)', async () => {
    const runDir = path.join(tmp, 'run');
    const child = await otherProcess(runDir, 'process.exit(3);');
    await exited(child);
    expect(await readdir(runDir)).toEqual([]);
  });

  it('refuse a second writer in the same process too, and never remove a file that is not a lock', async () => {
    const runDir = path.join(tmp, 'run');
    await withRunLock(runDir, async () => {
      await expect(withRunLock(runDir, async () => 0)).rejects.toThrow(`run ${runDir} is in use by process ${process.pid}`);
    });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(runLockFile(runDir), JSON.stringify({ format: 'digit-studio-lock/1', pid: dead, host: os.hostname(), since: '', token: 'x' }));
    expect(await withRunLock(runDir, async () => 'took over')).toBe('took over');

    await writeFile(runLockFile(runDir), 'my shopping list');
    await expect(withRunLock(runDir, async () => 0)).rejects.toThrow(/which is not a Digit Studio lock/);
    expect(await readFile(runLockFile(runDir), 'utf8')).toBe('my shopping list');
  });
});
