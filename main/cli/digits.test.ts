import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, runLockFile } from '../ml/folderLock.ts';

const BIN = path.resolve('bin/digits.mjs');
let tmp: string;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function digits(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** No stack trace reaches the user for their mistakes. */
function expectOneLineError(outcome: Outcome, pattern: RegExp): void {
  expect(outcome.code).not.toBe(0);
  expect(outcome.stderr).toMatch(pattern);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('digits train / test / export', () => {
  const run = () => path.join(tmp, 'run');

  it('trains with --json: only JSON on stdout, progress, epoch and done lines, a model folder at the end', async () => {
    const out = await digits('train', '--preset', 'seed', '--steps', '30', '--limit', '1000', '--run', run(), '--json', '--backend', 'wasm');
    expect(out.stderr).toMatch(/Backend: wasm/);
    expect(out.code).toBe(0);
    const lines = jsonLines(out.stdout);
    const progress = lines.filter((l) => l.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(Object.keys(progress[0]).sort()).toEqual(['epoch', 'learningRate', 'loss', 'samplesPerSecond', 'step', 'type']);
    expect(progress.at(-1)!.step).toBe(30);
    expect(lines.filter((l) => l.type === 'epoch').length).toBe(6); // 1000 images / 200 = 5 steps an epoch
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ type: 'done', model: path.join(run(), 'model') });
    expect(done.testAccuracy).toBeGreaterThan(0.5);
    expect(existsSync(path.join(run(), 'model', 'model.json'))).toBe(true);
    const metadata = JSON.parse(await readFile(path.join(run(), 'model', 'metadata.json'), 'utf8'));
    expect(metadata).toMatchObject({ preset: 'seed', backend: 'wasm', training: { steps: 30, weights: 'moving-average' } });
  });

  it('resumes the same run folder up to a larger total', async () => {
    const out = await digits('train', '--preset', 'seed', '--steps', '40', '--limit', '1000', '--run', run(), '--json');
    expect(out.code).toBe(0);
    const lines = jsonLines(out.stdout);
    expect(lines[0]).toMatchObject({ type: 'start', startStep: 30, totalSteps: 40, resumed: true });
    expect(lines.filter((l) => l.type === 'progress').at(-1)!.step).toBe(40);
  });

  it('says what a rerun does with what was typed, and refuses what it cannot honour', async () => {
    expectOneLineError(
      await digits('train', '--preset', 'seed', '--steps', '35', '--limit', '1000', '--run', run()),
      /is already at step 40; a total of 35 steps would undo training/,
    );
    expectOneLineError(
      await digits('train', '--preset', 'seed', '--learning-rate', '0.5', '--run', run()),
      /holds a run at step 40 with learning rate 0\.1 \(asked for 0\.5\); a resumed run keeps its settings/,
    );
    const again = await digits('train', '--preset', 'seed', '--run', run());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Training seed on 1000 images, 40 steps .*resuming at step 40/);
    expect(again.stdout).toMatch(/Note: The run is already complete \(step 40 of 40\): nothing left to train\./);
  });

  it('refuses a second writer of the same run folder, naming the process that holds it', async () => {
    const lock = await acquireLock(runLockFile(run()), `run ${run()}`);
    try {
      const second = await digits('train', '--preset', 'seed', '--steps', '50', '--run', run());
      expectOneLineError(second, new RegExp(`run ${run()} is in use by process ${process.pid} `));
    } finally {
      await lock.release();
    }
  });

  it('tests a model folder on the 10,000 test images', async () => {
    const out = await digits('test', '--model', path.join(run(), 'model'), '--json');
    expect(out.code).toBe(0);
    const metrics = JSON.parse(out.stdout);
    expect(metrics.count).toBe(10_000);
    expect(metrics.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10_000);
    expect(metrics.perClass).toHaveLength(10);
    expect(metrics.misclassified.length).toBe(Math.round((1 - metrics.accuracy) * 10_000));
  });

  it('predicts each file on its own, with JSON results and exit code 1 when one failed', async () => {
    const good = path.join(tmp, 'seven.png');
    const { renderMnistDigitPhoto } = await import('../../test/testImages.ts');
    const { loadMnist } = await import('../ml/mnist.ts');
    const { test } = await loadMnist();
    await writeFile(good, await renderMnistDigitPhoto(test.images.subarray(0, 784), { format: 'png' }));
    const corrupt = path.join(tmp, 'corrupt.jpg');
    await writeFile(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const out = await digits('predict', '--model', path.join(run(), 'model'), '--json', good, corrupt);
    expect(out.code).toBe(1);
    const results = JSON.parse(out.stdout);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ file: good });
    expect(Number.isInteger(results[0].digit) && results[0].digit >= 0 && results[0].digit <= 9).toBe(true);
    expect(results[0].probabilities).toHaveLength(10);
    expect(results[1].file).toBe(corrupt);
    expect(results[1].error).toMatch(/corrupt\.jpg/);
    const plain = await digits('predict', '--model', path.join(run(), 'model'), good);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/seven\.png: \d \(\d+\.\d%\)/);
    const number = await digits('predict', '--model', path.join(run(), 'model'), '--number', '--json', good, corrupt);
    expect(number.code).toBe(1);
    const rows = JSON.parse(number.stdout);
    expect(rows[0].number).toMatch(/^\d$/);
    expect(rows[0].digits).toHaveLength(1);
    expect(rows[1].error).toMatch(/corrupt\.jpg/);
  });

  it("exports a run's latest checkpoint, replacing a previous export only with --overwrite", async () => {
    const to = path.join(tmp, 'exported');
    const first = await digits('export', '--run', run(), '--to', to, '--no-test');
    expect(first.code).toBe(0);
    expect(existsSync(path.join(to, 'weights.bin'))).toBe(true);
    const again = await digits('export', '--run', run(), '--to', to, '--no-test');
    expectOneLineError(again, /already holds a model; pass --overwrite to replace it/);
    expect((await digits('export', '--run', run(), '--to', to, '--no-test', '--overwrite')).code).toBe(0);
  });
});

describe('digits train stopped with Ctrl-C, and digits runs', () => {
  it('writes the checkpoint and the model folder on Ctrl-C, and lists the run with the others', async () => {
    const workspace = path.join(tmp, 'ws');
    const runDir = path.join(workspace, 'runs', 'ctrl-c');
    const child = spawn(process.execPath, [BIN, 'train', '--preset', 'fast', '--steps', '5000', '--limit', '2000', '--run', runDir, '--json', '--backend', 'wasm']);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (/"type":"progress","step":([3-9]|\d\d)/.test(stdout) && child.exitCode === null && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const last = jsonLines(stdout).at(-1)!;
    expect(last).toMatchObject({ type: 'stopped', totalSteps: 5000, run: runDir, model: path.join(runDir, 'model') });
    expect(last.step).toBeLessThan(5000);
    expect(last.testAccuracy).toBeGreaterThan(0);
    const metadata = JSON.parse(await readFile(path.join(runDir, 'model', 'metadata.json'), 'utf8'));
    expect(metadata).toMatchObject({ status: 'stopped', step: last.step, totalSteps: 5000 });
    expect(existsSync(path.join(runDir, 'model', 'weights.bin'))).toBe(true);
    const { readCheckpointInfo } = await import('../ml/checkpoint.ts');
    expect((await readCheckpointInfo(runDir))?.step).toBe(last.step);

    await mkdir(path.join(workspace, 'runs', 'broken'));
    await writeFile(path.join(workspace, 'runs', 'broken', 'run.json'), '{"run');
    const listed = await digits('runs', '--workspace', workspace, '--json');
    expect(listed.code).toBe(0);
    const runs = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(runs.map((r) => [r.runId, r.status, r.resumable])).toEqual(
      expect.arrayContaining([
        ['ctrl-c', 'stopped', true],
        ['broken', 'damaged', false],
      ]),
    );
    expect(runs.find((r) => r.runId === 'ctrl-c')).toMatchObject({ preset: 'fast', step: last.step, origin: 'cli', testAccuracy: last.testAccuracy });
    const table = await digits('runs', '--workspace', workspace);
    expect(table.stdout).toMatch(/ctrl-c\s+fast\s+MNIST\s+stopped \(resumable\)/);
    expect(table.stdout).toMatch(/broken: run\.json is not valid JSON/);
  }, 60_000);
});

describe('digits errors', () => {
  it('rejects unknown commands, options and bad values with one line and exit code 2', async () => {
    expectOneLineError(await digits('fly'), /unknown command 'fly'/);
    expectOneLineError(await digits('train', '--wings'), /Unknown option '--wings'/);
    expectOneLineError(await digits('train', '--preset', 'huge'), /--preset must be one of fast, seed, cnn|--preset must be one of/);
    expectOneLineError(await digits('train', '--steps=-3'), /--steps must be a whole number/);
    expect((await digits('train', '--steps', 'x')).code).toBe(2);
    expectOneLineError(await digits('train', '--steps', '-3'), /Option '--steps' argument is ambiguous/);
  });

  it('--model: a plain tfjs folder loads with a note on stderr; a named pipe for weights.bin is one line, not a hang', async () => {
    const good = path.join(tmp, 'seven.png'); // written by the predict test above
    const plainDir = path.join(tmp, 'plain-model');
    await mkdir(plainDir);
    for (const name of ['model.json', 'weights.bin']) await copyFile(path.join(tmp, 'run', 'model', name), path.join(plainDir, name));
    const plain = await digits('predict', '--model', plainDir, good);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^Note: No SHA-256 is recorded for the weights \(an older or foreign model folder\), so damage to them cannot be detected$/m);
    await rm(path.join(plainDir, 'weights.bin'));
    execFileSync('mkfifo', [path.join(plainDir, 'weights.bin')]);
    expectOneLineError(await digits('test', '--model', plainDir), /plain-model: weights file "weights.bin" \(listed in model.json\) is a named pipe, not a regular file; refused/);
  });

  it('names a missing model folder or data folder', async () => {
    expectOneLineError(await digits('test', '--model', path.join(tmp, 'nothing')), /nothing: no such folder/);
    const empty = path.join(tmp, 'nodata');
    await mkdir(empty);
    await writeFile(path.join(empty, 'readme.txt'), 'not mnist');
    expectOneLineError(await digits('train', '--data', empty, '--steps', '1', '--run', path.join(tmp, 'r2')), /nodata/);
    expectOneLineError(await digits('export', '--run', path.join(tmp, 'nothing'), '--to', path.join(tmp, 'x')), /holds no checkpoint/);
  });
});
