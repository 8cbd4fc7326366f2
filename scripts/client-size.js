/**
 * The browser client's size as an app's bundler ships it: nestjs-sse-hub/client's ES-module
 * build (dist/client/esm, `npm run build` first) bundled and minified by esbuild, gzipped,
 * alone (eventsource-parser left external: the app may have it already) and with it.
 * `npm run size:client` prints it; the README's numbers come from here, and
 * test/unit/client-size.spec.ts keeps the client's own under its budget.
 */
const { build } = require('esbuild');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { gzipSync } = require('node:zlib');

const ENTRY = join(__dirname, '..', 'dist', 'client', 'esm', 'index.js');

/**
 * Bytes minified and minified + gzipped (level 9) of `entry` bundled for the browser, and
 * the files it pulled in; `external` left out.
 */
async function clientSize(entry = ENTRY, external = ['eventsource-parser']) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return {
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
  };
}

module.exports = { clientSize, ENTRY };

if (require.main === module) {
  (async () => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first.`);
    const alone = await clientSize();
    const all = await clientSize(ENTRY, []);
    const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
    console.log(
      `nestjs-sse-hub/client, eventsource-parser external: ${kb(alone.min)} min, ${kb(alone.gzip)} min+gz`,
    );
    console.log(
      `nestjs-sse-hub/client with eventsource-parser:     ${kb(all.min)} min, ${kb(all.gzip)} min+gz`,
    );
  })().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
