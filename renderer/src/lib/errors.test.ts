import { describe, expect, it } from 'vitest';
import { errorMessage } from './errors.ts';

describe('errorMessage', () => {
  it('removes the wrapping Electron adds to errors from ipcRenderer.invoke', () => {
    const error = new Error("Error invoking remote method 'studio:startTraining': Error: batch size must be at most 4096");
    expect(errorMessage(error)).toBe('batch size must be at most 4096');
  });

  it('never shows a stack trace', () => {
    const error = { message: 'model.json is missing in /tmp/m\n    at loadModelFolder (/app/main/ml/modelFolder.ts:10:5)\n    at async x' };
    expect(errorMessage(error)).toBe('model.json is missing in /tmp/m');
  });

  it('says something readable for values that are not errors', () => {
    expect(errorMessage(undefined)).toMatch(/went wrong/);
    expect(errorMessage('the server stopped')).toBe('the server stopped');
    expect(errorMessage(new TypeError(''))).toMatch(/went wrong/);
  });
});
