/**
 * How many bytes a list of tensor specs (a model.json weights manifest, a checkpoint's specs)
 * takes in its weights file: the product of each shape times the bytes per element of the dtype
 * as stored (a quantized weight is stored in its quantization dtype).
 */
const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: Float32Array.BYTES_PER_ELEMENT,
  int32: Int32Array.BYTES_PER_ELEMENT,
  bool: Uint8Array.BYTES_PER_ELEMENT,
  uint8: Uint8Array.BYTES_PER_ELEMENT,
  uint16: Uint16Array.BYTES_PER_ELEMENT,
  float16: Uint16Array.BYTES_PER_ELEMENT,
  complex64: 2 * Float32Array.BYTES_PER_ELEMENT,
};

export interface StoredTensorSpec {
  shape: readonly number[];
  /** float32 when absent, as tfjs assumes. */
  dtype?: string;
  quantization?: { dtype?: string };
}

/** Bytes the specs' data takes; NaN when a dtype is unknown, so no size check can pass by accident. */
export function weightDataBytes(specs: readonly StoredTensorSpec[]): number {
  return specs.reduce((sum, spec) => {
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    const perElement = BYTES_PER_ELEMENT[spec.quantization?.dtype ?? spec.dtype ?? 'float32'] ?? Number.NaN;
    return sum + elements * perElement;
  }, 0);
}
