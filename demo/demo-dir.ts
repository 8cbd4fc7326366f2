import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The demo's own folder (with public/ and browser/), whether running from
 * dist-demo/demo/main.js, from demo/main.ts or from another cwd.
 */
export function demoDir(): string {
  const candidates = [join(__dirname, '..', '..', 'demo'), __dirname, join(process.cwd(), 'demo')];
  const found = candidates.find((dir) => existsSync(join(dir, 'public', 'index.html')));
  if (!found) throw new Error(`demo/public/index.html not found; looked in: ${candidates.join(', ')}`);
  return found;
}
