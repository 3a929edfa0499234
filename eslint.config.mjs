import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// Commands run by `sh -c` or a remote login shell, which may be dash: POSIX quoting only.
const zxQuote = {
  name: 'zx',
  importNames: ['quote', 'quotePowerShell'],
  message: "zx quotes for bash ($'…'); use shellQuote from deploy/lib/shell.mjs",
}

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
    files: ['deploy/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { paths: [zxQuote] }] },
  },
  {
    // Layering in deploy: lib <- lab <- scripts. The lab is the VMs and their faults; the scripts drive it.
    files: ['deploy/lab/**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [zxQuote, { name: '@pg-ha/deploy/cluster', message: 'the lab does not depend on the cluster scripts' }],
          patterns: [
            {
              group: ['**/scripts', '**/scripts/**'],
              message: 'the lab does not import the cluster scripts: helpers both need live in deploy/lib',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['deploy/lib/**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [zxQuote],
          patterns: [
            {
              group: ['**/lab', '**/lab/**', '**/scripts', '**/scripts/**', '@pg-ha/deploy/*'],
              message: 'deploy/lib is the bottom layer: it imports neither the lab nor the scripts',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['load-tests/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } },
  },
  ...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts'] })),
)
