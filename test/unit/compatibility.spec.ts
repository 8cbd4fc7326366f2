import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The README's compatibility table is a claim about what CI runs: each row names the jest
// project that tests it, and the majors it states are the ones installed for that project.
const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jestConfig = require(join(ROOT, 'jest.config.js')) as { projects: Array<{ displayName: string }> };

interface Row {
  nest: number;
  platform: string;
  platformMajor: number;
  node: number;
  project: string;
}

function rows(): Row[] {
  const section = readme.split('\n## Compatibility')[1]?.split('\n## ')[0];
  if (!section) throw new Error('README.md has no "## Compatibility" section');
  return section
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => {
      const [nest, platform, node, , project] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      const [, name, major] = /^(Express|Fastify) (\d+)/.exec(platform) ?? [];
      return {
        nest: Number(nest),
        platform: name,
        platformMajor: Number(major),
        node: Number(/^(\d+)/.exec(node)?.[1]),
        project: /`([^`]+)`/.exec(project)?.[1] ?? '',
      };
    });
}

/** The version of `name` as the project's Nest installation resolves it. */
function installed(nest: number, name: string, from?: string): string {
  const base = nest === 12 ? join(ROOT, 'test', 'nest12') : ROOT;
  try {
    const start = from
      ? require.resolve(`${from}/package.json`, { paths: [base] })
      : join(base, 'package.json');
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [start] }), 'utf8'))
      .version;
  } catch {
    throw new Error(
      `${name} is not installed for NestJS ${nest}: run \`npm run test:fixtures\` (npm test does).`,
    );
  }
}

const major = (version: string) => Number(version.split('.')[0]);

describe('the README compatibility table', () => {
  const table = rows();

  it('covers Express and Fastify on NestJS 11 and 12', () => {
    expect(table.map((row) => `${row.nest} ${row.platform}`).sort()).toEqual([
      '11 Express',
      '11 Fastify',
      '12 Express',
      '12 Fastify',
    ]);
  });

  it.each(table.map((row) => [`${row.nest} ${row.platform}`, row]))(
    '%s: names a jest project that runs, on the versions it states',
    (_, row) => {
      expect(jestConfig.projects.map((project) => project.displayName)).toContain(row.project);
      expect(row.project).toBe(`e2e nest${row.nest} ${row.platform.toLowerCase()}`);
      expect(major(installed(row.nest, '@nestjs/core'))).toBe(row.nest);
      const adapter = `@nestjs/platform-${row.platform.toLowerCase()}`;
      expect(major(installed(row.nest, adapter))).toBe(row.nest);
      expect(major(installed(row.nest, row.platform.toLowerCase(), adapter))).toBe(row.platformMajor);
      expect(major(process.versions.node)).toBe(row.node);
    },
  );

  it('matches the peer ranges, which name exactly the tested majors', () => {
    const majors = [...new Set(table.map((row) => row.nest))].sort();
    for (const name of ['@nestjs/common', '@nestjs/core']) {
      const ranges = (pkg.peerDependencies[name] as string).split('||').map((range) => range.trim());
      expect(ranges.map((range) => Number(/^\^(\d+)\./.exec(range)?.[1])).sort()).toEqual(majors);
    }
  });
});
