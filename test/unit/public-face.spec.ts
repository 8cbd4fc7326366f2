import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

// Every name a public entry point exports is a promise to users: each one is named in the
// README or a guide under docs/ (and has a doc comment: `npm run docs` fails without one).
// Internals live outside the entries (src/internal.ts and the files themselves).
const ROOT = join(__dirname, '..', '..');
interface Target {
  types?: string;
  require?: { types?: string };
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, Target | string>;
};
// An entry's types: at its top, or under `require` for one with an ES-module build too (./client).
const typesOf = (target: Target | string) =>
  typeof target === 'object' ? (target.types ?? target.require?.types) : undefined;
const ENTRIES = Object.entries(pkg.exports)
  .filter(([, target]) => typesOf(target))
  .map(([subpath, target]) => ({
    subpath,
    source: join(
      ROOT,
      typesOf(target)!
        .replace(/^\.\/dist\//, 'src/')
        .replace(/\.d\.ts$/, '.ts'),
    ),
  }));

function exportsOf(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((file) => {
      const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      return [file, checker.getExportsOfModule(symbol).map((exported) => exported.getName())];
    }),
  );
}

const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'))]
  .map((name) => readFileSync(join(ROOT, name === 'README.md' ? name : `docs/${name}`), 'utf8'))
  .join('\n');

describe('the public face', () => {
  const exported = exportsOf(ENTRIES.map((entry) => entry.source));

  it.each(ENTRIES.map((entry) => [entry.subpath, entry.source]))(
    '%s exports only names the README or docs/ describe',
    (_, source) => {
      const names = exported.get(source)!;
      expect(names.length).toBeGreaterThan(0);
      const undocumented = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(docs));
      expect(undocumented).toEqual([]);
    },
  );
});
