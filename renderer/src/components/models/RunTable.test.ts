import { render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { RunSummary } from '../../lib/contract.ts';
import RunTable from './RunTable.svelte';

function run(runId: string, data: RunSummary['data']): RunSummary {
  return {
    runId,
    name: runId,
    note: '',
    preset: 'fast',
    settings: null,
    data,
    status: 'finished',
    problem: null,
    step: 10,
    totalSteps: 10,
    wallSeconds: 3,
    backend: 'wasm',
    bestValidationAccuracy: 0.9,
    testAccuracy: 0.9,
    createdAt: null,
    updatedAt: '2026-11-29T10:00:00.000Z',
    modelDir: null,
    origin: 'app',
    resumable: false,
  };
}

describe('RunTable', () => {
  it('says for each run on my digits how many were kept aside to check it, and nothing for MNIST runs', () => {
    const runs = [
      run('mnist', { label: 'MNIST', trainCount: 1000, fineTunedFrom: null, heldOut: null }),
      run('checked', { label: 'MNIST + my digits (my-digits)', trainCount: 1024, fineTunedFrom: 'fast-1 (fast)', heldOut: { count: 6, share: 0.2 } }),
      run('unchecked', { label: 'my digits (my-digits)', trainCount: 30, fineTunedFrom: null, heldOut: { count: 0, share: 0 } }),
    ];
    render(RunTable, {
      props: { runs, currentRunId: null, isCompared: () => false, canResume: true, busy: false, oncompare: vi.fn(), onuse: vi.fn(), onresume: vi.fn(), onexport: vi.fn(), onedit: vi.fn(), ondelete: vi.fn() },
    });
    const notes = screen.getAllByTestId('run-held-out').map((note) => [note.closest('tr')!.dataset.run, note.textContent]);
    expect(notes).toEqual([
      ['checked', 'my digits kept aside to check: 20% (6 pictures)'],
      ['unchecked', 'my digits kept aside to check: none (no check on my digits)'],
    ]);
  });
});
