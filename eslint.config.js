import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'web/dist/'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Only src/config.ts reads the environment.',
        },
      ],
    },
  },
  { files: ['src/config.ts', 'src/main.ts'], rules: { 'no-restricted-syntax': 'off' } },
  {
    // The web console's browser modules: DOM only, and no HTML from strings (web/src/dom.ts).
    files: ['web/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Build elements with h() (web/src/dom.ts).' },
        { property: 'outerHTML', message: 'Build elements with h() (web/src/dom.ts).' },
        { property: 'insertAdjacentHTML', message: 'Build elements with h() (web/src/dom.ts).' },
      ],
      'no-restricted-globals': ['error', 'process', 'require'],
    },
  },
  {
    files: ['src/api/**/*.ts', 'src/domain/**/*.ts', 'src/template/**/*.ts', 'src/auth/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', message: 'Only src/store/ speaks SQL.', allowTypeImports: true },
            { name: 'undici', message: 'Only src/transport/ opens outbound connections.' },
            {
              name: 'node:http',
              message: 'Only src/transport/ opens outbound connections.',
              allowTypeImports: true,
            },
            { name: 'soap', message: 'Only src/transport/ opens outbound connections.' },
          ],
        },
      ],
    },
  },
);
