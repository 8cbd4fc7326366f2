// Rewrites every code block of the README and docs/*.md that follows an
// `<!-- example: docs/examples/<file> -->` line with that file as it is now
// (`npm run docs:examples`). test/unit/docs.spec.ts fails while they differ.
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const docs = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
for (const doc of docs) {
  const before = readFileSync(join(ROOT, doc), 'utf8');
  const after = before.replace(
    /^(<!-- example: (\S+) -->\n```\w*\n)[\s\S]*?^```$/gm,
    (_, head, file) => `${head}${readFileSync(join(ROOT, file), 'utf8')}\`\`\``,
  );
  if (after !== before) {
    writeFileSync(join(ROOT, doc), after);
    console.log(`${doc}: examples updated`);
  }
}
