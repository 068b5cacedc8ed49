// The preset profiles shipped in profiles/*.json, and the lookup of a system's
// profile: a preset by name, or the custom profile stored with the system.
// The presets ship with the code and are checked against the schema by the
// test suite (test/mail/profile-schema.test.ts), like code; at run time they
// are read as they are, which spares every CLI call that routes a mail the
// loading of zod. What an admin writes (--profile-file, a stored custom
// profile) goes through the schema every time it is read.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeskbridgeError } from '../errors';
import { packageRoot } from '../package-root';
import { parseProfile, type Profile } from './profile-schema';

export const PRESETS_DIR = join(packageRoot(), 'profiles');

let presets: ReadonlyMap<string, Profile> | undefined;

/** Presets, read once per process. */
export function presetProfiles(): ReadonlyMap<string, Profile> {
  if (!presets) {
    const map = new Map<string, Profile>();
    for (const file of readdirSync(PRESETS_DIR).filter((f) => f.endsWith('.json')).sort()) {
      const path = join(PRESETS_DIR, file);
      const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
      map.set(profile.name, profile);
    }
    presets = map;
  }
  return presets;
}

export function presetProfile(name: string, option = '--profile'): Profile {
  const profile = presetProfiles().get(name);
  if (!profile) {
    throw new DeskbridgeError('EPROFILE', `${option}: unknown profile "${name}" (known: ${[...presetProfiles().keys()].join(', ')})`);
  }
  return profile;
}

/** Reads and validates a custom profile file (--profile-file). */
export function readProfileFile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DeskbridgeError('EPROFILE', `--profile-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new DeskbridgeError('EPROFILE', `--profile-file: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseProfile(data, path);
}

/** The profile a system uses: its stored custom profile, else the preset it names. */
export function systemProfile(system: { profile: string; profileJson: string | null }): Profile {
  if (system.profileJson) return parseProfile(JSON.parse(system.profileJson), `profile "${system.profile}"`);
  return presetProfile(system.profile);
}
