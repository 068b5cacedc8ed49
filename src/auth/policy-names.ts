// The names of the authentication policies an admin chooses (`system --auth`,
// `department --staff-auth`), apart from the policy logic: the admin commands
// need only the names, and loading policy.ts would load mailauth and the
// public-suffix list into every CLI start (profiled: ~190 ms of `--help`).
export const SYSTEM_AUTH_POLICIES = ['none', 'dmarc'] as const;
export type SystemAuthPolicy = (typeof SYSTEM_AUTH_POLICIES)[number];
export const STAFF_AUTH_POLICIES = ['dmarc', 'token'] as const;
export type StaffAuthPolicy = (typeof STAFF_AUTH_POLICIES)[number];
