#!/usr/bin/env node
// Entry point of `npx deskbridge`: registers tsx so the TypeScript sources run
// as they are in the checkout (no build step that could go stale), then hands
// over to the CLI.
require('tsx/cjs/api').register();
require('../src/cli/main.ts').main(process.argv);
