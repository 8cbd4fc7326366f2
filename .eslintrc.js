module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: 'tsconfig.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint/eslint-plugin'],
  extends: ['plugin:@typescript-eslint/recommended'],
  env: { node: true, jest: true },
  ignorePatterns: ['.eslintrc.js', 'jest.config.js', 'test/support/*.js', 'dist', 'dist-demo', 'node_modules', 'demo/public'],
  rules: {
    // Framework objects (Express/Fastify requests, Nest metadata) are untyped by nature.
    '@typescript-eslint/no-explicit-any': 'off',
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    '@typescript-eslint/consistent-type-imports': 'off',
    'no-console': 'error',
  },
  overrides: [{ files: ['test/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts'], rules: { 'no-console': 'off' } }],
};
