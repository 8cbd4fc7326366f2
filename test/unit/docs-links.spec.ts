import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

// The README is the front door and docs/*.md the guides: every link between them (a file,
// a file's #anchor, an anchor of the page itself) must lead somewhere, on GitHub as here,
// and the README must stay short enough to read through.
const ROOT = join(__dirname, '..', '..');
const README_MAX_LINES = 350;
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The lines of a Markdown page outside fenced code blocks, with their numbers. */
function proseOf(markdown: string): Array<{ line: number; text: string }> {
  const prose: Array<{ line: number; text: string }> = [];
  let fenced = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^\s*```/.test(text)) fenced = !fenced;
    else if (!fenced) prose.push({ line: i + 1, text });
  });
  return prose;
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation dropped, spaces as hyphens. */
function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings, the second of a name with `-1` as GitHub numbers them. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseOf(markdown)) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const slug = slugOf(heading[1]);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  doc: string;
  line: number;
  target: string;
}

function linksOf(doc: string): Link[] {
  const links: Link[] = [];
  for (const { line, text } of proseOf(readFileSync(join(ROOT, doc), 'utf8'))) {
    // Code spans hold examples of syntax, not links.
    const prose = text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ doc, line, target: match[1] });
    }
  }
  return links;
}

/** Why a link leads nowhere, or undefined when it leads somewhere. */
function brokenBecause({ doc, target }: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: …
  const [path, anchor] = target.split('#', 2);
  const file = path ? join(ROOT, dirname(doc), decodeURIComponent(path)) : join(ROOT, doc);
  if (!file.startsWith(ROOT + '/') && file !== ROOT) return `it leaves the repository`;
  if (!existsSync(file)) return `${relative(ROOT, file)} does not exist`;
  if (anchor === undefined) return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md'))
    return `#${anchor} on a page that is not Markdown`;
  const anchors = anchorsOf(readFileSync(file, 'utf8'));
  return anchors.has(decodeURIComponent(anchor).toLowerCase())
    ? undefined
    : `${relative(ROOT, file)} has no heading #${anchor} (it has: ${[...anchors].join(', ')})`;
}

describe('the links of the README and docs/*.md', () => {
  const links = DOCS.flatMap(linksOf);

  it('are found (the check sees the pages it checks)', () => {
    expect(links.filter((link) => link.doc === 'README.md').length).toBeGreaterThan(10);
    expect(new Set(links.map((link) => link.doc)).size).toBeGreaterThan(10);
  });

  it.each(DOCS)('in %s lead to a file that exists, and to a heading of it', (doc) => {
    const broken = links
      .filter((link) => link.doc === doc)
      .map((link) => [link, brokenBecause(link)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([link, why]) => `${link.doc}:${link.line} (${link.target}): ${why}`);
    expect(broken).toEqual([]);
  });
});

describe('GitHub anchors, as the links check computes them', () => {
  it.each([
    ['Quick start', 'quick-start'],
    ["Under the process: the kernel's socket buffers", 'under-the-process-the-kernels-socket-buffers'],
    ['Limits, measured', 'limits-measured'],
    [
      '`SseModule.forRoot(options)` / `SseModule.forRootAsync({ imports, inject, useFactory })`',
      'ssemoduleforrootoptions--ssemoduleforrootasync-imports-inject-usefactory-',
    ],
    ['Many instances: `nestjs-sse-hub/redis`', 'many-instances-nestjs-sse-hubredis'],
    ['[Linked](elsewhere.md) heading', 'linked-heading'],
  ])('%s → #%s', (heading, slug) => {
    expect(slugOf(heading)).toBe(slug);
  });

  it('number a repeated heading as GitHub does', () => {
    expect([...anchorsOf('# Notes\n\n## Notes\n\n```\n# not a heading\n```\n')]).toEqual([
      'notes',
      'notes-1',
    ]);
  });
});

describe('the links check', () => {
  it('tells a missing file, a missing heading and a heading of a file that is not Markdown', () => {
    const at = (target: string) => brokenBecause({ doc: 'docs/README.md', line: 1, target });
    expect(at('no-such-guide.md')).toMatch(/docs\/no-such-guide.md does not exist/);
    expect(at('streams.md#no-such-heading')).toMatch(/docs\/streams.md has no heading #no-such-heading/);
    expect(at('demo-page.png#top')).toMatch(/not Markdown/);
    expect(at('#layout')).toBeUndefined();
    expect(at('../README.md#quick-start')).toBeUndefined();
    expect(at('https://example.com/nowhere')).toBeUndefined();
  });
});

describe('the README', () => {
  it(`is a front door: at most ${README_MAX_LINES} lines, the guides in docs/`, () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });
});
