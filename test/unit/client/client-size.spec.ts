import { join } from 'node:path';

// nestjs-sse-hub/client goes into browser bundles: bundled from its sources as an app's
// bundler would (eventsource-parser external: the budget is the client's own), it stays
// under 3 KB minified and gzipped, and it pulls in nothing but its own files and
// eventsource-parser — no Nest, no rxjs, no node: module, none of the server's code.
// `npm run size:client` prints the numbers the README gives.
const ROOT = join(__dirname, '..', '..', '..');
const ENTRY = join(ROOT, 'src', 'client', 'index.ts');
const BUDGET = 3 * 1024;

/** The bundle of the sources, measured as `npm run size:client` measures the build. */
const bundle = (external: string[]): Promise<{ gzip: number; inputs: string[] }> =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../../../scripts/client-size').clientSize(ENTRY, external);

describe('nestjs-sse-hub/client in a browser bundle', () => {
  it(`is under ${BUDGET} bytes minified and gzipped, eventsource-parser aside`, async () => {
    const { gzip } = await bundle(['eventsource-parser']);
    expect(gzip).toBeGreaterThan(500);
    expect(gzip).toBeLessThanOrEqual(BUDGET);
  });

  it('bundles only its own files and eventsource-parser: no Nest, rxjs, node: module or server code', async () => {
    // Bundled for the browser with nothing external: a Node built-in would fail the build.
    const { inputs } = await bundle([]);
    const foreign = inputs.filter(
      (input) => !input.startsWith('src/client/') && !input.includes('node_modules/eventsource-parser/'),
    );
    expect(foreign).toEqual([]);
    expect(inputs.some((input) => input.includes('eventsource-parser'))).toBe(true);
  });
});
