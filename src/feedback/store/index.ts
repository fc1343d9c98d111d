// The feedback store: its interface and records, openStore, and the SQLite and PostgreSQL backends.

export * from './types.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { SqliteFeedbackStore, type SqliteStoreOptions } from './sqlite.js';
export { PostgresFeedbackStore, type PostgresStoreOptions } from './postgres.js';
export { hashToken, shownOrder } from './tokens.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, appliedVersions } from './migrations.js';
export { PG_MIGRATIONS, migratePostgres, pgAppliedVersions } from './postgres-migrations.js';
export { DEFAULT_LEASE_MS } from './leases.js';
export { judgmentToComparison } from './to-comparison.js';
export { judgmentRanks, pairAgreement } from './agreement.js';
export { DEFAULT_SETTINGS } from './validate.js';
