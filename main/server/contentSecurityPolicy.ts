/**
 * The one Content-Security-Policy of the renderer page, sent as a header by both hosts: the
 * desktop window's app:// protocol (main/electron/rendererProtocol.ts) and `digits serve`.
 * renderer/index.html carries a compatible <meta> copy.
 *
 * Only our own scripts; styles from our origin plus inline style attributes (Svelte and the
 * charts set them); images from our origin or data:/blob: URLs (digit previews, thumbnails); no
 * plugins, frames or form posts. connect-src 'self' covers the browser mode's WebSocket: CSP 3's
 * 'self' matches ws:// on the page's own host and port, so nothing from a request (such as its
 * Host header) is ever written into the policy.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
  "worker-src 'self' blob:",
].join('; ');
