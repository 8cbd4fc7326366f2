module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: 'tsconfig.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint/eslint-plugin'],
  extends: ['plugin:@typescript-eslint/recommended'],
  env: { node: true, jest: true },
  ignorePatterns: [
    '.eslintrc.js',
    'jest.config.js',
    'test/support/*.js',
    'dist',
    'dist-demo',
    'node_modules',
    'demo/public',
  ],
  rules: {
    // Framework objects (Express/Fastify requests, Nest metadata) are untyped by nature.
    '@typescript-eslint/no-explicit-any': 'off',
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    // Types imported as types: compiled file by file to ES modules (the NestJS 12 runs), an
    // import of an interface would otherwise stay in the output and fail to link. Classes
    // in decorated signatures stay value imports: their metadata needs them.
    '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    'no-console': 'error',
  },
  overrides: [{ files: ['test/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts'], rules: { 'no-console': 'off' } }],
};
