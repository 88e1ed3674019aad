/** Helpers shared by the app's tests. */
import type { StudioErrorInfo } from './contract.ts';

/** The error a call rejects with (as it crosses the boundary: message and code); fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<StudioErrorInfo> {
  try {
    await promise;
  } catch (error) {
    return error as StudioErrorInfo;
  }
  throw new Error('expected the call to fail');
}
