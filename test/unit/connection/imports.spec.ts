import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

const DIR = join(__dirname, '../../../src/connection');

/** Each file of the connection layer and what it imports (type-only imports too). */
function importsOf(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(DIR).filter((name) => name.endsWith('.ts'))) {
    const source = ts.createSourceFile(file, readFileSync(join(DIR, file), 'utf8'), ts.ScriptTarget.Latest);
    const specifiers: string[] = [];
    source.forEachChild((node) => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
        specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
    });
    graph.set(file.replace(/\.ts$/, ''), specifiers);
  }
  return graph;
}

describe('the connection layer’s imports', () => {
  const graph = importsOf();

  it('reach only the wire layer, the defaults and Node, never the hub or Nest', () => {
    // src/defaults.ts is every option's default, in one place, and imports only Node.
    const allowed = ['../wire', '../defaults'];
    const outside = [...graph.values()]
      .flat()
      .filter(
        (specifier) =>
          !specifier.startsWith('./') && !allowed.includes(specifier) && !specifier.startsWith('node:'),
      );
    expect(outside).toEqual([]);
  });

  it('form no cycle, type-only imports included', () => {
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (file: string, path: string[]): void => {
      if (path.includes(file)) {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      if (done.has(file)) return;
      for (const specifier of graph.get(file) ?? [])
        if (specifier.startsWith('./')) visit(specifier.slice(2), [...path, file]);
      done.add(file);
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
