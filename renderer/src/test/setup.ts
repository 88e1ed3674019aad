/**
 * What jsdom lacks and the renderer uses: a 2D canvas context (recorded, not drawn), toBlob,
 * Blob.arrayBuffer and PointerEvent. Object URLs stay absent: the code must cope without them.
 */
import { vi } from 'vitest';

export interface FakeContextCall {
  method: string;
  args: unknown[];
}

/** A 2D context that records its calls, so tests can see that strokes were drawn. */
function fakeContext(canvas: HTMLCanvasElement) {
  const calls: FakeContextCall[] = [];
  const record =
    (method: string) =>
    (...args: unknown[]) => {
      calls.push({ method, args });
    };
  return {
    canvas,
    calls,
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    lineCap: 'butt',
    lineJoin: 'miter',
    fillRect: record('fillRect'),
    beginPath: record('beginPath'),
    moveTo: record('moveTo'),
    lineTo: record('lineTo'),
    stroke: record('stroke'),
    putImageData: record('putImageData'),
    createImageData: (width: number, height: number) => ({ width, height, data: new Uint8ClampedArray(width * height * 4) }),
    getImageData: (x: number, y: number, width: number, height: number) => {
      calls.push({ method: 'getImageData', args: [x, y, width, height] });
      return { width, height, data: new Uint8ClampedArray(width * height * 4) };
    },
  };
}

const contexts = new WeakMap<HTMLCanvasElement, ReturnType<typeof fakeContext>>();

HTMLCanvasElement.prototype.getContext = function getContext(this: HTMLCanvasElement, kind: string) {
  if (kind !== '2d') return null;
  let context = contexts.get(this);
  if (!context) {
    context = fakeContext(this);
    contexts.set(this, context);
  }
  return context;
} as unknown as HTMLCanvasElement['getContext'];

/** The PNG signature, so a "drawing" looks like a PNG to whoever checks. */
export const FAKE_PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

HTMLCanvasElement.prototype.toBlob = function toBlob(callback: BlobCallback, type?: string) {
  setTimeout(() => callback(new Blob([FAKE_PNG], { type: type ?? 'image/png' })), 0);
};

export function contextCalls(canvas: HTMLCanvasElement): FakeContextCall[] {
  return contexts.get(canvas)?.calls ?? [];
}

if (typeof Blob.prototype.arrayBuffer !== 'function') {
  Blob.prototype.arrayBuffer = function arrayBuffer(this: Blob) {
    return new Promise<ArrayBuffer>((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as ArrayBuffer);
      reader.onerror = () => reject(reader.error);
      reader.readAsArrayBuffer(this);
    });
  };
}

if (typeof globalThis.PointerEvent !== 'function') {
  class PointerEventPolyfill extends MouseEvent {
    readonly pointerId: number;
    readonly pointerType: string;
    constructor(type: string, init: PointerEventInit = {}) {
      super(type, init);
      this.pointerId = init.pointerId ?? 1;
      this.pointerType = init.pointerType ?? 'mouse';
    }
  }
  vi.stubGlobal('PointerEvent', PointerEventPolyfill);
}
