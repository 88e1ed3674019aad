/**
 * `npx tsx bench/responsiveness.ts [--seconds S] [--preset P] [--threads N] [--skip browser|cli]`:
 * does the app stay responsive while training uses every core? (issue 14). Needs `npm run build`
 * and Debian's chromium.
 *
 * - Browser mode: starts `digits serve`, opens it in Chromium, and measures for S seconds, first
 *   idle, then while a run of the preset trains (the app's training child uses every core): the
 *   interval between animation frames (median, p95, max; 16.7 ms is a perfect 60 Hz), long tasks
 *   on the page's main thread, the time a tab switch takes to show its panel, and the server's
 *   answer time to an API call over the page's WebSocket protocol.
 * - Command line: `digits train --preset P --threads N --json`: the interval between progress
 *   lines, then the time from Ctrl-C (SIGINT) to its acknowledgement, to the run's last line (after
 *   the checkpoint, the model folder and the test evaluation) and to the exit.
 * - `--nice N`: the app's training child runs at niceness N (to compare a lower priority).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { createSocketApi, type SocketConstructor } from '../renderer/src/lib/socketApi.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIGITS = path.join(ROOT, 'bin', 'digits.mjs');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    preset: { type: 'string' },
    threads: { type: 'string' },
    skip: { type: 'string' },
    nice: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds ?? 20);
const PRESET = values.preset ?? 'cnn';
const THREADS = values.threads ?? '2';
/** With --nice N, the server's training child (every thread of it) runs at that niceness: the before/after of a lower priority. */
const NICE = values.nice === undefined ? null : Number(values.nice);

/** Sets the niceness of every thread of every process below `pid` (Linux: niceness is per thread). */
function reniceDescendants(pid: number, nice: number): number {
  let count = 0;
  const children = readFileSafe(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(Number);
  for (const child of children) {
    for (const tid of readdirSync(`/proc/${child}/task`)) {
      os.setPriority(Number(tid), nice);
      count++;
    }
    count += reniceDescendants(child, nice);
  }
  return count;
}

/** The niceness values of every thread below `pid` (/proc/<tid>/stat field 19), for the report. */
function descendantNiceness(pid: number): number[] {
  const found = new Set<number>();
  const children = readFileSafe(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(Number);
  for (const child of children) {
    for (const tid of readdirSync(`/proc/${child}/task`)) {
      const fields = readFileSafe(`/proc/${child}/task/${tid}/stat`).split(') ')[1]?.split(' ') ?? [];
      if (fields.length > 16) found.add(Number(fields[16]));
    }
    for (const n of descendantNiceness(child)) found.add(n);
  }
  return [...found].sort((p, q) => p - q);
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((p, r) => p - r);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '-');
const load = () => os.loadavg()[0].toFixed(2);

/** Resolves with the first stdout line of a child process. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with code ${code} before printing anything`)));
  });
}

interface FrameFigures {
  frames: number;
  median: number;
  p95: number;
  max: number;
  longTasks: number;
  longTaskMs: number;
}

/** Animation-frame intervals and long tasks on the page over `seconds`. */
async function frameFigures(page: Page, seconds: number): Promise<FrameFigures> {
  // A string, not a function: tsx's transform would put helpers into it that the page lacks.
  const { stamps, longTasks } = (await page.evaluate(`new Promise((resolve) => {
    const stamps = [];
    const longTasks = [];
    const observer = new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)));
    observer.observe({ type: 'longtask' });
    const start = performance.now();
    const tick = (now) => {
      stamps.push(now);
      if (now - start < ${seconds * 1000}) requestAnimationFrame(tick);
      else {
        observer.disconnect();
        resolve({ stamps, longTasks });
      }
    };
    requestAnimationFrame(tick);
  })`)) as { stamps: number[]; longTasks: number[] };
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
  return {
    frames: gaps.length,
    median: quantile(gaps, 0.5),
    p95: quantile(gaps, 0.95),
    max: Math.max(...gaps),
    longTasks: longTasks.length,
    longTaskMs: longTasks.reduce((s, d) => s + d, 0),
  };
}

/** Median time for a tab switch to show its panel, over `times` switches between two tabs. */
async function tabSwitch(page: Page, times: number): Promise<number> {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const [name, panel] = i % 2 === 0 ? ['Evaluate', '#panel-evaluate'] : ['Train', '#panel-train'];
    const start = performance.now();
    await page.getByRole('tab', { name }).click();
    await page.locator(panel).waitFor({ state: 'visible' });
    took.push(performance.now() - start);
  }
  return quantile(took, 0.5);
}

async function browserMode(): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), 'digits-responsiveness-'));
  const server = spawn(process.execPath, [DIGITS, 'serve', '--port', '0', '--json', '--workspace', workspace], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  try {
    const url = (JSON.parse(await firstLine(server)) as { url: string }).url;
    const token = new URL(url).searchParams.get('token');
    const api = createSocketApi(`ws://${new URL(url).host}/ws?token=${token}`, { WebSocket: WebSocket as unknown as SocketConstructor });
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByRole('tab', { name: 'Train' }).waitFor();
    const apiTimes = async (seconds: number) => {
      const took: number[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const start = performance.now();
        await api.getTrainingSnapshot();
        took.push(performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return took;
    };
    const measure = async (what: string) => {
      const loadBefore = load();
      const [frames, answers] = await Promise.all([frameFigures(page, SECONDS), apiTimes(SECONDS)]);
      const tabs = await tabSwitch(page, 10);
      console.log(
        `browser, ${what}: frames ${frames.frames} in ${SECONDS} s, interval median ${ms(frames.median)}, p95 ${ms(frames.p95)}, max ${ms(frames.max)}; ` +
          `long tasks ${frames.longTasks} (${ms(frames.longTaskMs)} in all); tab switch median ${ms(tabs)}; ` +
          `API answer median ${ms(quantile(answers, 0.5))}, p95 ${ms(quantile(answers, 0.95))} [load average ${loadBefore} -> ${load()}]`,
      );
    };
    await page.getByRole('tab', { name: 'Train' }).click();
    await measure('idle');
    await api.startTraining({ preset: PRESET as 'cnn' });
    // Past the start-up (data, workers): measure while steps run.
    while ((await api.getTrainingSnapshot()).state !== 'running') await new Promise((resolve) => setTimeout(resolve, 200));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const reniced = NICE === null ? 0 : reniceDescendants(server.pid!, NICE);
    await page.getByRole('tab', { name: 'Train' }).click();
    const niceness = descendantNiceness(server.pid!).join('/');
    await measure(`training ${PRESET} (the app's default threads${NICE === null ? '' : `, reniced to ${NICE}: ${reniced} threads`}; training child's niceness ${niceness})`);
    const pauseStart = performance.now();
    await api.pauseTraining();
    while ((await api.getTrainingSnapshot()).state !== 'paused') await new Promise((resolve) => setTimeout(resolve, 10));
    console.log(`browser: pause took ${ms(performance.now() - pauseStart)} to show as paused`);
    await api.stopTraining();
    api.close();
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(workspace, { recursive: true, force: true });
  }
}

async function commandLine(): Promise<void> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'digits-responsiveness-run-'));
  const child = spawn(process.execPath, [DIGITS, 'train', '--preset', PRESET, '--threads', THREADS, '--json', '--run', runDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const progressTimes: number[] = [];
  let sentAt = 0;
  let acknowledgedAt = 0;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (sentAt > 0 && acknowledgedAt === 0 && /Stopping after this step/.test(line)) acknowledgedAt = performance.now();
  });
  let stoppedAt = 0;
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(performance.now())));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { type?: string; stopped?: boolean };
    if (event.type === 'progress') progressTimes.push(performance.now());
    if (sentAt > 0 && stoppedAt === 0 && (event.type === 'stopped' || event.stopped === true || event.type === 'result')) stoppedAt = performance.now();
    if (!sentAt && progressTimes.length > 0 && performance.now() - progressTimes[0] > SECONDS * 1000) {
      sentAt = performance.now();
      child.kill('SIGINT');
    }
  });
  const exitAt = await exited;
  const gaps = progressTimes.slice(1).map((t, i) => t - progressTimes[i]).filter((_, i) => progressTimes[i + 1] <= (sentAt || Infinity));
  console.log(
    `command line, digits train --preset ${PRESET} --threads ${THREADS}: progress lines every ${ms(quantile(gaps, 0.5))} (median), p95 ${ms(quantile(gaps, 0.95))}, max ${ms(Math.max(...gaps))}; ` +
      `Ctrl-C: acknowledged after ${ms(acknowledgedAt - sentAt)}, final line (checkpoint, model, test accuracy) after ${ms((stoppedAt || exitAt) - sentAt)}, exit after ${ms(exitAt - sentAt)} [load average ${load()}]`,
  );
  await rm(runDir, { recursive: true, force: true });
}

console.log(`responsiveness while training ${PRESET}; ${os.availableParallelism()} cores, load average ${load()}`);
if (values.skip !== 'browser') await browserMode();
if (values.skip !== 'cli') await commandLine();
