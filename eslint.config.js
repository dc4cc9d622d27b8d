// ESLint: typescript-eslint's type-aware recommended rules over every TypeScript folder; formatting is Prettier's
// (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'web/dist/', 'test-artifacts/', 'data/', 'checkpoints/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
  },
  { files: ['web/src/**'], languageOptions: { globals: { ...globals.browser } } },
  {
    rules: {
      // node:test's test() and describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // A leading underscore marks a parameter or binding kept on purpose (an interface's signature, a property
      // left out of a rest spread).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Off: async functions here implement async contracts without awaiting anything themselves (Fastify plugins,
      // route handlers and hooks, Dataset.trainBatch); the rule would ask for Promise.resolve() wrappers that say less.
      '@typescript-eslint/require-await': 'off',
      // tfjs ops return Tensor<Rank>; `as tf.Tensor4D` reads better than the `op<Rank.R4>(...)` the rule asks for.
      '@typescript-eslint/no-unnecessary-type-assertion': [
        'error',
        { typesToIgnore: ['tf.Tensor4D', 'tf.Tensor3D', 'tf.Tensor2D', 'tf.Tensor1D', 'tf.Scalar'] },
      ],
      // ws hands messages over as Buffers (binaryType 'nodebuffer', its default), whose toString() is the text.
      '@typescript-eslint/no-base-to-string': ['error', { ignoredTypeNames: ['RawData', 'Error', 'RegExp', 'URL'] }],
      // Shapes ([8, 32, 32, 3]), numbers and booleans read well in messages; `never` appears in exhaustiveness checks.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowArray: true, allowNever: true, allowBoolean: true },
      ],
    },
  },
  {
    // Tests read JSON bodies and WebSocket frames whose shape is exactly what they assert; typing every response
    // before asserting on it would restate the schemas in protocol/ without checking anything more.
    files: ['test/**', 'harness/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  prettier,
);
