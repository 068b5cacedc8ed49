#!/usr/bin/env node
// Entry point of `npx deskbridge`: registers tsx so the TypeScript sources run
// as they are in the checkout (no build step that could go stale), then hands
// over to the CLI.
// `deskbridge inbox list | head` closes the pipe early: that is the reader's
// choice, not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
require('tsx/cjs/api').register();
require('../src/cli/main.ts').main(process.argv);
