// Three projects: pure unit tests once, and every *.db.test.ts twice — on
// SQLite and on PostgreSQL — chosen by DESKBRIDGE_TEST_BACKEND (pg-boss's
// habit: the same suite on each backend). scripts/test.mjs decides whether
// the PostgreSQL project runs (and fails loudly under CI when it cannot).
import { defineConfig } from 'vitest/config';

const dbProject = (backend: 'sqlite' | 'postgres') => ({
  test: {
    name: backend,
    include: ['test/**/*.db.test.ts'],
    env: { DESKBRIDGE_TEST_BACKEND: backend },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.db.test.ts', 'node_modules/**'], testTimeout: 30_000 } },
      dbProject('sqlite'),
      dbProject('postgres'),
    ],
  },
});
