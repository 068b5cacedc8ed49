// Preloaded (`node --require bench/rss-probe.cjs bin/deskbridge.js …`) by the
// CLI benchmark: when the process exits, writes its own peak RSS in KiB to
// DESKBRIDGE_RSS_FILE. Node reports only its own rusage, not a child's.
const file = process.env.DESKBRIDGE_RSS_FILE;
if (file) process.on('exit', () => require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS)));
