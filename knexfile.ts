// For `npx knex migrate:latest` and friends: the same configuration and the
// same migration list as `deskbridge migrate` (knex reads this file through
// sucrase's register hook, so it stays TypeScript).
import { loadConfig } from './src/config';
import { knexConfig } from './src/store/db';
import { MIGRATIONS_TABLE } from './src/store/migration-names';
import { migrationSource } from './src/store/migration-source';

export default { ...knexConfig(loadConfig().database), migrations: { migrationSource, tableName: MIGRATIONS_TABLE } };
