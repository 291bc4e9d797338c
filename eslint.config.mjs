import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tap/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware: the floating-promise rule needs to know which expressions are promises.
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json', './tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // One unhandled rejection stops the agent (cli.ts exits on it), dropping every call.
      // tap queues t.test() itself and reports a failing subtest as a failure: the
      // PromiseWithSubtest it returns only ever resolves.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      'no-console': 'off',
    },
  },
  {
    // The core decides and nothing else: no config, adapters, I/O or runtime clock, so every rule stays testable alone.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*', '!../core', '!../core/*'], message: 'src/core is pure: it imports only from src/core.' },
            { group: ['node:*'], message: 'src/core does no I/O: take a port or a Clock instead.' },
          ],
          paths: ['fs', 'net', 'dgram', 'http', 'https', 'child_process', 'drachtio-srf', 'ioredis', 'pino', 'prom-client', 'fastify', 'yaml', 'zod'].map(
            (name) => ({ name, message: 'src/core is pure: adapters and I/O live outside it.' }),
          ),
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'setImmediate', 'process', 'performance'].map((name) => ({
          name,
          message: 'src/core sees time through the injected Clock and does no I/O.',
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'src/core reads time from the injected Clock.' }],
    },
  },
);
