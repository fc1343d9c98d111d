// Test helper: asserts that a record parser throws a FieldError naming the expected field.

import assert from 'node:assert/strict';
import { FieldError } from '../jsonl.js';

/** Asserts that `fn` throws a FieldError naming `field` whose message matches `re`. */
export function throwsField(fn: () => unknown, field: string, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FieldError, `expected a FieldError, got ${String(e)}`);
    assert.equal(e.field, field, `field of: ${e.message}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}
