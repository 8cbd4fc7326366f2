// Installs the NestJS 12 fixture (run by `npm test`, after the build): NestJS 12 itself,
// for the e2e suite's runs as ES modules, and this library packed as a user would get it
// from a registry, for the ES-module app. The library is re-packed and re-installed every
// time: an install of an unchanged version would keep a stale copy.
const { execFileSync } = require('node:child_process');
const { existsSync, renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const HERE = __dirname;
const ROOT = join(HERE, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args, cwd) =>
  execFileSync(npm, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
  console.error('test/nest12: dist/ is missing; run `npm run build` first (npm test does).');
  process.exit(1);
}
// --ignore-scripts: the build has just run; packing must not run it again.
const packed = JSON.parse(run(['pack', '--json', '--ignore-scripts', '--pack-destination', HERE], ROOT))[0]
  .filename;
renameSync(join(HERE, packed), join(HERE, 'nestjs-sse-hub.tgz'));
rmSync(join(HERE, 'node_modules', 'nestjs-sse-hub'), { recursive: true, force: true });
run(['install', '--no-audit', '--no-fund', '--no-package-lock'], HERE);
const { version } = require(join(HERE, 'node_modules', '@nestjs', 'core', 'package.json'));
console.log(`test/nest12: NestJS ${version} and the packed library installed`);
