// The feedback store: its interface and records, and the SQLite backend.

export * from './types.js';
export { SqliteFeedbackStore, hashToken, shownOrder, type SqliteStoreOptions } from './sqlite.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, appliedVersions } from './migrations.js';
export { judgmentToComparison } from './to-comparison.js';
export { judgmentRanks, pairAgreement } from './agreement.js';
export { DEFAULT_SETTINGS } from './validate.js';
