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
    },
  },
];
