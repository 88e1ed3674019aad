import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, contentType, isRendererUrl, resolveRendererFile } from './rendererFiles.ts';

const root = path.resolve('/opt/studio/out/renderer');

describe('renderer files on app://studio', () => {
  it('maps app://studio URLs to files inside the renderer folder', () => {
    expect(resolveRendererFile(root, 'app://studio/')).toBe(path.join(root, 'index.html'));
    expect(resolveRendererFile(root, 'app://studio/index.html')).toBe(path.join(root, 'index.html'));
    expect(resolveRendererFile(root, 'app://studio/assets/index-abc.js?v=1#x')).toBe(path.join(root, 'assets/index-abc.js'));
    expect(resolveRendererFile(root, 'app://studio/assets/my%20font.woff2')).toBe(path.join(root, 'assets/my font.woff2'));
  });

  it('refuses other hosts and schemes, and never resolves a path out of the folder', () => {
    for (const url of ['app://other/index.html', 'file:///etc/passwd', 'https://studio/index.html', 'app://studio/%5c..%5csecret', 'app://studio/%00', 'app://studio/%E0%A4%A', 'not a url']) {
      expect(resolveRendererFile(root, url), url).toBeNull();
    }
    // The URL parser already folds plain dot segments (they stay inside); encoded ones are caught here.
    expect(resolveRendererFile(root, 'app://studio/../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    for (const url of ['app://studio/%2e%2e/%2e%2e/etc/passwd', 'app://studio/assets/..%2f..%2f..%2fetc%2fpasswd', 'app://studio/a/%2e%2e%2f%2e%2e%2f']) {
      const file = resolveRendererFile(root, url);
      expect(file === null || file.startsWith(root + path.sep), `${url} -> ${file}`).toBe(true);
    }
    expect(resolveRendererFile(root, 'app://studio/assets/..%2f..%2f..%2fetc%2fpasswd')).toBeNull();
  });

  it('serves scripts with a JavaScript type (module scripts require one)', () => {
    expect(contentType('a/index-x.js')).toMatch(/^text\/javascript/);
    expect(contentType('index.HTML')).toMatch(/^text\/html/);
    expect(contentType('model.bin')).toBe('application/octet-stream');
  });

  it('recognises our renderer by origin, including the dev server in development only', () => {
    expect(isRendererUrl('app://studio/index.html')).toBe(true);
    expect(isRendererUrl('app://studio.evil/index.html')).toBe(false);
    expect(isRendererUrl('http://localhost:5173/')).toBe(false);
    expect(isRendererUrl('http://localhost:5173/', 'http://localhost:5173')).toBe(true);
    expect(isRendererUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
  });

  it('has a CSP that allows only our own scripts and nothing remote', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:|\*/);
  });
});
