// Large task imports without holding up everyone else: tasks are checked and stored in chunks, and
// the event loop runs between chunks (better-sqlite3 is synchronous, and even PostgreSQL's driver
// builds each statement's parameters on the event loop). Shared by both backends' addTasks.

import { FieldError } from '../../data/field-error.js';
import { StoreError, type TaskInput } from './types.js';
import { parseTask } from './validate.js';

/** The most tasks, and about the most characters of text, checked or stored between two turns of the event loop. */
export const CHUNK_TASKS = 250;
const CHUNK_CHARS = 256 * 1024;

export const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

/** Every task checked (FieldError naming `tasks[i]…` at the first bad one), a chunk at a time. */
export async function parseTasks(tasks: unknown): Promise<TaskInput[]> {
  if (!Array.isArray(tasks)) throw new FieldError('tasks', 'must be an array of tasks');
  const out: TaskInput[] = [];
  for (const chunk of chunksOf(tasks as TaskInput[])) {
    for (const t of chunk) out.push(parseTask(t, `tasks[${out.length}]`));
    if (out.length < tasks.length) await yieldToLoop();
  }
  return out;
}

/** Tasks in consecutive chunks of at most CHUNK_TASKS tasks and about CHUNK_CHARS characters. */
export function* chunksOf(tasks: TaskInput[]): Generator<TaskInput[]> {
  let start = 0;
  let chars = 0;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i] as Partial<TaskInput>;
    chars += (typeof t?.prompt === 'string' ? t.prompt.length : 0) + size(t?.completions);
    if (i + 1 - start >= CHUNK_TASKS || chars >= CHUNK_CHARS) {
      yield tasks.slice(start, i + 1);
      start = i + 1;
      chars = 0;
    }
  }
  if (start < tasks.length) yield tasks.slice(start);
}

const size = (cs: unknown) =>
  Array.isArray(cs) ? cs.reduce((n: number, c) => n + (typeof c === 'string' ? c.length : 0), 0) : 0;

/**
 * The error of an import that failed after some chunks were committed (SQLite commits each chunk):
 * says which tasks are stored, so that only the rest is imported again.
 */
export function partialImport(e: unknown, ids: number[], total: number): unknown {
  if (ids.length === 0) return e;
  const message =
    `stored the first ${ids.length} of ${total} tasks (ids ${ids[0]}–${ids[ids.length - 1]}), then: ` +
    `${(e as Error).message}. ` +
    `The other ${total - ids.length} were not stored: import only those again`;
  return e instanceof StoreError ? new StoreError(e.code, message, e.reason) : new Error(message);
}
