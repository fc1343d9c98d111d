// Reading a PostgreSQL location: postgres://user:password@host:port/database?schema=NAME. The schema
// (from the URL or the store option) becomes the connections' search_path; the password never
// appears in a message.

import { FieldError } from '../../data/field-error.js';

export interface PgLocation {
  /** For pg's Pool, without our own `schema` parameter. */
  connectionString: string;
  schema?: string;
  /** The URL with its password masked, for messages. */
  display: string;
}

/** An unquoted SQL name: folds to itself, so it can go in `-c search_path=` as is. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const isPostgresUrl = (s: string) => /^postgres(ql)?:\/\//i.test(s);

export function maskPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}

export function pgLocation(url: string, schemaOption?: string): PgLocation {
  const display = maskPassword(url);
  if (!isPostgresUrl(url))
    throw new FieldError(
      'location',
      `${display} is not a PostgreSQL URL; expected postgres://user:password@host:port/database`,
    );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FieldError(
      'location',
      `${display} is not a valid URL; expected postgres://user:password@host:port/database[?schema=NAME] ` +
        `(percent-encode special characters in the password)`,
    );
  }
  const fromUrl = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (fromUrl !== undefined && schemaOption !== undefined && fromUrl !== schemaOption) {
    throw new FieldError(
      'schema',
      `the URL says ?schema=${fromUrl} but the schema option says ${schemaOption}; give one`,
    );
  }
  const schema = schemaOption ?? fromUrl;
  if (schema !== undefined) {
    if (!SCHEMA_NAME.test(schema)) {
      throw new FieldError(
        'schema',
        `"${schema}" is not a usable schema name; use 1–63 lowercase letters, digits and _ (not starting with a digit)`,
      );
    }
    // NOTE: pg lets a URL's `options` override the Pool's, which would silently drop our search_path.
    if (u.searchParams.has('options')) {
      throw new FieldError(
        'schema',
        `${display} sets connection options itself; give the schema either there (-c search_path=…) or as ` +
          `?schema=, not both`,
      );
    }
  }
  return { connectionString: u.toString(), schema, display };
}
