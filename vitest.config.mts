// Projects: pure unit tests once, and every *.db.test.ts twice — on SQLite
// and on PostgreSQL — chosen by DESKBRIDGE_TEST_BACKEND (pg-boss's habit: the
// same suite on each backend). scripts/test.mjs decides whether the
// PostgreSQL projects run (and fails loudly under CI when it cannot).
//
// Most files wait on child processes, Dovecot or a database more than they
// compute, so they run three at a time (vitest's default on two cores is one
// at a time). The end-to-end files — several `deskbridge run` processes,
// Dovecot restarts, a real Request Tracker, the 2,000-mail fuzz — time what
// they wait for; they run afterwards, one file at a time (groupOrder), so
// they never share the machine with each other or with the rest.
import { defineConfig } from 'vitest/config';

const HEAVY = ['test/e2e/**/*.db.test.ts', 'test/fuzz.db.test.ts'];

const dbProject = (backend: 'sqlite' | 'postgres') => ({
  test: {
    name: backend,
    include: ['test/**/*.db.test.ts'],
    exclude: [...HEAVY, 'node_modules/**'],
    env: { DESKBRIDGE_TEST_BACKEND: backend },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

const heavyProject = (backend: 'sqlite' | 'postgres', groupOrder: number) => ({
  test: {
    name: `${backend}-e2e`,
    include: HEAVY,
    env: { DESKBRIDGE_TEST_BACKEND: backend },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    sequence: { groupOrder },
  },
});

export default defineConfig({
  test: {
    maxWorkers: 3,
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.db.test.ts', 'node_modules/**'], testTimeout: 30_000 } },
      dbProject('sqlite'),
      dbProject('postgres'),
      heavyProject('sqlite', 1),
      heavyProject('postgres', 2),
    ],
  },
});
