/** Drawing the 28x28 grey inputs (784 bytes, ink = 255) the model sees. */
export const IMAGE_SIDE = 28;

/** Fills `canvas` (resized to 28x28) with the bytes as white ink on black, like MNIST. */
export function drawDigitPixels(canvas: HTMLCanvasElement, pixels: Uint8Array): void {
  canvas.width = IMAGE_SIDE;
  canvas.height = IMAGE_SIDE;
  const context = canvas.getContext('2d');
  if (!context) return;
  const image = context.createImageData(IMAGE_SIDE, IMAGE_SIDE);
  const count = Math.min(pixels.length, IMAGE_SIDE * IMAGE_SIDE);
  for (let i = 0; i < count; i++) {
    const v = pixels[i];
    image.data[i * 4] = v;
    image.data[i * 4 + 1] = v;
    image.data[i * 4 + 2] = v;
    image.data[i * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}
