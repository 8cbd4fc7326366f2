import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Every TypeScript block of the README and of docs/*.md is a file under docs/examples,
// which `npm run typecheck` compiles and the user-app test (test/package) compiles in a
// fresh app under every moduleResolution and runs. A block is preceded by
// `<!-- example: docs/examples/<file> -->` and must be that file, byte for byte.
const ROOT = join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const EXAMPLES = join(ROOT, 'docs', 'examples');

interface Block {
  doc: string;
  line: number;
  lang: string;
  code: string;
  example?: string;
}

function blocksOf(doc: string): Block[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]);
    const marker = /^<!-- example: (\S+) -->$/.exec(lines[start - 1] ?? '');
    blocks.push({ doc, line: start + 1, lang: open[1], code: body.join('\n') + '\n', example: marker?.[1] });
  }
  return blocks;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [relative(ROOT, join(dir, entry.name))],
  );
}

const blocks = DOCS.flatMap(blocksOf);
const code = blocks.filter((block) => ['ts', 'typescript', 'js', 'javascript'].includes(block.lang));

describe('the README and docs/*.md', () => {
  it('show code only in TypeScript blocks taken from docs/examples, or in sh blocks', () => {
    const others = blocks.filter((block) => !['ts', 'sh', 'text', 'json'].includes(block.lang));
    expect(others.map(({ doc, line, lang }) => `${doc}:${line} is a \`\`\`${lang} block`)).toEqual([]);
  });

  it.each(code.map((block) => [`${block.doc}:${block.line}`, block]))(
    '%s is a file of docs/examples, as it is there',
    (where, block) => {
      if (!block.example)
        throw new Error(
          `${where}: put "<!-- example: docs/examples/<file>.ts -->" on the line before the block and the code in that file, so that it is compiled.`,
        );
      const path = join(ROOT, block.example);
      if (!existsSync(path)) throw new Error(`${where}: ${block.example} does not exist.`);
      // `npm run docs:examples` copies the files into the blocks.
      expect(block.code).toBe(readFileSync(path, 'utf8'));
    },
  );

  it('show every file of docs/examples', () => {
    const shown = new Set(code.map((block) => block.example));
    expect(filesUnder(EXAMPLES).filter((file) => !shown.has(file))).toEqual([]);
  });
});
