#!/usr/bin/env node
// The `deskbridge` command run from the TypeScript sources through tsx, with
// no build step that could go stale: what the tests and `npm run demo` call.
// The installed command is bin/deskbridge.js, which runs the compiled dist/.
require('tsx/cjs/api').register();
require('../src/cli/main.ts').main(process.argv);
