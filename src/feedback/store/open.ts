// openStore: one entry point for both backends, chosen by the location's form.
//   a file path, or :memory:        → SQLite (the file is created if missing)
//   postgres://… or postgresql://…  → PostgreSQL (the schema is created and migrated if needed)

import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FieldError } from '../../data/field-error.js';
import { isPostgresUrl, maskPassword } from './pg-location.js';
import { PostgresFeedbackStore, type PostgresStoreOptions } from './postgres.js';
import { SqliteFeedbackStore, type SqliteStoreOptions } from './sqlite.js';
import type { FeedbackStore } from './types.js';

/** Options of both backends; each names the backend it applies to. */
export interface OpenStoreOptions extends SqliteStoreOptions, Omit<PostgresStoreOptions, keyof SqliteStoreOptions> {}

const FORMS =
  'a SQLite file path (e.g. feedback.db), :memory:, or a PostgreSQL URL ' +
  'postgres://user:password@host:5432/database[?schema=NAME]';
const SQLITE_ONLY: (keyof OpenStoreOptions)[] = ['busyTimeoutMs', 'synchronous'];
const POSTGRES_ONLY: (keyof OpenStoreOptions)[] = ['schema', 'poolSize'];

export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<FeedbackStore> {
  if (typeof location !== 'string' || location.trim() === '')
    throw new FieldError('location', `is empty; give ${FORMS}`);
  const given = (keys: (keyof OpenStoreOptions)[]) => keys.filter((k) => options[k] !== undefined);
  if (isPostgresUrl(location)) {
    const wrong = given(SQLITE_ONLY);
    if (wrong.length)
      throw new FieldError(wrong[0], `applies to SQLite stores only, and ${maskPassword(location)} is PostgreSQL`);
    return PostgresFeedbackStore.open(location, options);
  }
  // Any other scheme (mysql://, sqlite://, file://, http://) is a mistake, not a file name.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new FieldError(
      'location',
      `${maskPassword(location)}: this kind of URL is not a feedback store; give ${FORMS}`,
    );
  }
  const wrong = given(POSTGRES_ONLY);
  if (wrong.length)
    throw new FieldError(wrong[0], `applies to PostgreSQL stores only, and ${location} is a SQLite location`);
  if (location !== ':memory:') {
    const dir = dirname(resolve(location));
    if (!existsSync(dir))
      throw new FieldError(
        'location',
        `the folder ${dir} of the SQLite file ${location} does not exist; create it first`,
      );
    if (existsSync(location) && statSync(location).isDirectory())
      throw new FieldError(
        'location',
        `${location} is a folder; give the path of a SQLite file in it (e.g. ${location}/feedback.db)`,
      );
  }
  return new SqliteFeedbackStore(location, options);
}
