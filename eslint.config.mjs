// Module boundaries (STYLE.md §6): the domain imports nothing but itself; libs never import apps.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', 'tools/**/*.mjs', '**/*.js', '**/*.mjs', 'data/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'scope:domain', onlyDependOnLibsWithTags: ['scope:domain'] },
            { sourceTag: 'scope:infra', onlyDependOnLibsWithTags: ['scope:domain', 'scope:infra'] },
            { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:domain', 'scope:infra'] },
          ],
        },
      ],
      // A bare `LIMIT ?` makes SQLite prepare the statement again on every execution (bound-limit.ts).
      'no-restricted-syntax': [
        'error',
        { selector: 'Literal[value=/LIMIT \\?/i]', message: 'write LIMIT ${BOUND_LIMIT} (@devid/event-store): a bare LIMIT ? is prepared again on each run' },
        { selector: 'TemplateElement[value.raw=/LIMIT \\?/i]', message: 'write LIMIT ${BOUND_LIMIT} (@devid/event-store): a bare LIMIT ? is prepared again on each run' },
      ],
    },
  },
  {
    // The domain is pure: no I/O, no clock or randomness of its own, no framework.
    files: ['libs/domain/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\.)', message: 'libs/domain imports nothing but itself' }] }],
      'no-restricted-globals': ['error', { name: 'Date', message: 'time comes in with the command' }, { name: 'crypto', message: 'ids come in with the command' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'randomness comes in with the command' }],
    },
  },
];
