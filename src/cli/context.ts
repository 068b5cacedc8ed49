// What every command needs, built once per CLI call and only when asked:
// the validated config, the database (checked to be migrated), and who is
// acting (for the audit log).
import { userInfo } from 'node:os';
import type { Config } from '../config';
import { DeskbridgeError } from '../errors';
import type { Database } from '../store/db';
import { pendingMigrations } from '../store/schema-check';
import { redactUrl } from '../url-secrets';
import { lazy } from './lazy';

export class CliContext {
  private cachedConfig?: Config;
  private cachedDb?: Database;

  get config(): Config {
    this.cachedConfig ??= lazy.config().loadConfig();
    return this.cachedConfig;
  }

  /** The database without a migration check: for `migrate`, `init`, `doctor`. */
  rawDatabase(): Database {
    this.cachedDb ??= lazy.db().openDatabase(this.config.database);
    return this.cachedDb;
  }

  /** The database, refusing to work on a schema that is behind the code. */
  async database(): Promise<Database> {
    lazy.db().requireExistingDatabase(this.config);
    const db = this.rawDatabase();
    let pending: string[];
    try {
      pending = await pendingMigrations(db);
    } catch (err) {
      throw new DeskbridgeError('EDATABASE', `cannot open the database ${redactUrl(this.config.database)} (DESKBRIDGE_DATABASE): ${(err as Error).message}`, { cause: err });
    }
    if (pending.length > 0) {
      throw new DeskbridgeError('EDATABASE', `the database needs ${pending.length} migration(s); run \`deskbridge migrate\` (or \`deskbridge init\`) first`);
    }
    return db;
  }

  /** The OS user, and the sudo caller behind root when there is one. */
  get actor(): string {
    let user: string;
    try {
      user = userInfo().username;
    } catch {
      user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
    }
    const sudo = process.env.SUDO_USER;
    return sudo && sudo !== user ? `${user} (sudo: ${sudo})` : user;
  }

  async close(): Promise<void> {
    await this.cachedDb?.close();
  }
}
