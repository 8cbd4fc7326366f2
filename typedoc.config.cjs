// TypeDoc (`npm run docs`): the API reference, from the doc comments of the public entry
// points, into dist-docs/. Any public export, or member of one, without a doc comment
// fails the build, so the reference never has a blank entry.
const { OptionDefaults } = require('typedoc');

/** @type {Partial<import('typedoc').TypeDocOptions>} */
module.exports = {
  name: 'nestjs-sse-hub',
  entryPoints: [
    'src/index.ts',
    'src/testing/index.ts',
    'src/redis/index.ts',
    'src/postgres/index.ts',
    'src/datastar/index.ts',
    'src/terminus/index.ts',
    'src/client/index.ts',
  ],
  tsconfig: 'tsconfig.build.json',
  out: 'dist-docs',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  // Nest marks its public symbols with `@publicApi`; so does this library.
  modifierTags: [...OptionDefaults.modifierTags, '@publicApi'],
  // Source links without a git remote (a fresh clone or a tarball has none).
  disableGit: true,
  gitRevision: 'main',
  sourceLinkTemplate: 'https://github.com/nestjs-sse-hub/nestjs-sse-hub/blob/{gitRevision}/{path}#L{line}',
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: OptionDefaults.requiredToBeDocumented,
  treatValidationWarningsAsErrors: true,
};
