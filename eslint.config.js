import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default ts.config(
	{ ignores: ['build/', '.svelte-kit/', '.data/', '.tools/', 'node_modules/', 'test-results/', 'db/types.ts', 'db/job-states.ts'] },
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	prettier,
	...svelte.configs.prettier,
	{
		languageOptions: { globals: { ...globals.node, ...globals.browser } },
		rules: {
			// Unused bindings are dead code; a leading underscore marks one that is unused on purpose.
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			'@typescript-eslint/consistent-type-imports': 'error',
			eqeqeq: ['error', 'always', { null: 'ignore' }],
			'no-console': ['error', { allow: ['warn', 'error'] }],
			// Best-effort cleanup (closing a socket that may already be gone) ignores its error on purpose.
			'no-empty': ['error', { allowEmptyCatch: true }],
			// The app is served at the root (no kit.paths.base), so plain hrefs are already resolved.
			'svelte/no-navigation-without-resolve': 'off',
			// {' '} keeps a space that Svelte would trim at the edge of a block.
			'svelte/no-useless-mustaches': 'off'
		}
	},
	{
		// These modules exist to find control and invisible characters in user input.
		files: ['web/lib/server/text-rules.ts', 'web/lib/server/redirects.ts', 'heygen/secret-forms.ts'],
		rules: { 'no-control-regex': 'off', 'no-misleading-character-class': 'off' }
	},
	{
		// SvelteKit's ambient App namespace declares empty interfaces for apps to fill in.
		files: ['web/app.d.ts'],
		rules: { '@typescript-eslint/no-empty-object-type': 'off' }
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts'],
		languageOptions: { parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig } }
	},
	{
		// Command-line scripts, benches and tests print to the terminal by design.
		files: ['scripts/**', 'tests/**', 'db/cli.ts', 'heygen/simulator/main.ts', 'heygen/schemas/extract.ts'],
		rules: { 'no-console': 'off' }
	},
	{
		files: ['tests/**'],
		rules: {
			// A vitest fixture is set up by naming it in the test's arguments, used or not.
			'@typescript-eslint/no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			// Tests read query rows and JSON replies whose shape is what they assert.
			'@typescript-eslint/no-explicit-any': 'off'
		}
	}
);
