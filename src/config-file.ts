// Where the configuration file is, without loading the configuration's
// schema: config.ts reads it, `init` writes it, and bin/deskbridge.js asks,
// before it loads the program, whether a piped mail may be handed to a
// running bridge (then it starts no parse worker ahead of time).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_CONFIG_FILE = 'deskbridge.config.json';

/** The configuration file: DESKBRIDGE_CONFIG, else deskbridge.config.json, from `cwd`. */
export const configFilePath = (env: NodeJS.ProcessEnv, cwd: string): string => resolve(cwd, env.DESKBRIDGE_CONFIG || DEFAULT_CONFIG_FILE);

/**
 * Whether an ingest socket may be configured (DESKBRIDGE_INGEST_SOCKET, its
 * _FILE variant, or the key in the configuration file), told cheaply: the
 * file is only searched for the key (quoted, as JSON writes it), so a key in a comment counts too.
 * False means no mail is handed over; true only that one may be.
 */
export function ingestSocketMayBeSet(env: NodeJS.ProcessEnv, cwd: string): boolean {
  if (env.DESKBRIDGE_INGEST_SOCKET || env.DESKBRIDGE_INGEST_SOCKET_FILE) return true;
  try {
    return readFileSync(configFilePath(env, cwd), 'utf8').includes('"ingestSocket"');
  } catch {
    return false; // no file (or none readable): the configuration says so itself when the command loads it
  }
}
