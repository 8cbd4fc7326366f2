// Jest's CommonJS runs (NestJS 11) cannot load an ES module before Node 24.9, and
// @nestjs/terminus 12 is ES modules only: this compiles its files to CommonJS, as Node's
// own require() of ES modules (Node >= 20.19) runs them in a user's app. import.meta is
// given its CommonJS equivalents first (TypeScript leaves it as it is).
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const SELF = readFileSync(__filename, 'utf8');

function toCommonJs(source, fileName) {
  const code = source
    .replace(/^const require = createRequire\(import\.meta\.url\);$/m, '')
    .replace(/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href")
    .replace(/\bimport\.meta\.dirname\b/g, '__dirname')
    .replace(/\bimport\.meta\.filename\b/g, '__filename')
    .replace(/\bimport\.meta\.resolve\(/g, 'require.resolve(');
  return ts.transpileModule(code, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}

module.exports = {
  process: (source, fileName) => ({ code: toCommonJs(source, fileName) }),
  getCacheKey: (source, fileName) =>
    createHash('sha1').update(SELF).update(ts.version).update(fileName).update(source).digest('hex'),
};
