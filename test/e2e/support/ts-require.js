// Lets a plain `node` process load this repository's TypeScript (src/, test/e2e/support/)
// as CommonJS, compiled file by file as it is required, without a build: `node --require
// ./ts-require.js some.ts`. What an instance of the fault matrix runs in a process of its own.
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = (module, fileName) => {
  const { outputText } = ts.transpileModule(readFileSync(fileName, 'utf8'), { fileName, compilerOptions });
  module._compile(outputText, fileName);
};
