import { build } from 'esbuild';
import { resolve } from 'node:path';

// Where a page's bundler finds `nestjs-sse-hub/client` in this repository: its source, as
// the package's `exports["./client"]` would hand a bundler its ES-module build.
const CLIENT_SOURCE = resolve('src/client/index.ts');

/** A browser page's script and what it imports, bundled into one ES module, as an app's bundler would. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const { outputFiles } = await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    alias: { 'nestjs-sse-hub/client': CLIENT_SOURCE },
    logLevel: 'silent',
  });
  return outputFiles[0].text;
}
