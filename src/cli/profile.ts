// `deskbridge profile …`: the parse profiles a system can use.
import type { Command } from 'commander';
import { presetProfiles } from '../mail/profiles';
import type { Profile } from '../mail/profile-schema';
import type { CliContext } from './context';
import { printList, type Column } from './output';

const COLUMNS: Column<Profile>[] = [
  { header: 'NAME', value: (p) => p.name },
  { header: 'FIELDS', value: (p) => Object.keys(p.fields).join(',') },
  { header: 'DESCRIPTION', value: (p) => p.description ?? '' },
];

export function registerProfile(program: Command, _ctx: CliContext): void {
  const profile = program.command('profile').description('parse profiles: how a system\'s mails are read');
  profile
    .command('list')
    .description('list the preset profiles')
    .option('--json', 'print JSON (the whole profiles)')
    .action((opts: { json?: boolean }) => {
      printList([...presetProfiles().values()], opts, COLUMNS, (p) => p, 'no profiles');
    });
}
