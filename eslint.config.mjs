import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'bench/results/**', '**/src/generated/**'] },
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node }, sourceType: 'module' },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Commands run by `sh -c` or a remote login shell, which may be dash: POSIX quoting only.
    files: ['deploy/**/*.mjs'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'zx', importNames: ['quote', 'quotePowerShell'], message: 'zx quotes for bash ($\'…\'); use shellQuote from deploy/scripts/lib/shell.mjs' }] }],
    },
  },
  {
    files: ['load-tests/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } },
  },
  ...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts'] })),
)
