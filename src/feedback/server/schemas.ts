// JSON schemas of the request bodies and query strings. Unknown fields are rejected (ajv runs with
// removeAdditional: false), and each property's `description` ends up in the error message as the
// hint of how to fix it. The store re-checks what needs context (a task's K, a project's axes).

const name = { type: 'string', minLength: 1, maxLength: 100, description: '1–100 characters' } as const;
const id = (what: string) => ({ type: 'integer', minimum: 1, description: `the id of a ${what}` }) as const;

export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'project settings: overlap, goldEvery, axes',
  properties: {
    overlap: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      description: 'labelers per task, 1–100 (2 or more measures agreement)',
    },
    goldEvery: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      description: 'every N-th task a labeler gets is a gold task; 0 = gold tasks only after the others',
    },
    axes: {
      type: 'array',
      maxItems: 20,
      items: name,
      description: 'names of optional 1–7 rating axes, e.g. ["accuracy", "coherence"]',
    },
    scale: { const: 9, description: 'only the 9-point scale is supported' },
  },
} as const;

export const createProjectBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { ...name, description: 'the project name, 1–100 characters' }, settings: settingsSchema },
} as const;

export const judgmentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['taskId', 'submissionId', 'shown'],
  properties: {
    taskId: id('task, from GET /api/projects/:id/next'),
    submissionId: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]{1,100}$',
      description: '1–100 characters of A–Z a–z 0–9 _ . : -, made once per submission and reused on retries',
    },
    status: { enum: ['done', 'skipped', 'flagged'], description: 'done (default), skipped, or flagged as unsuitable' },
    choice: {
      type: 'integer',
      minimum: 1,
      maximum: 9,
      description: 'pairs: 1 = A much better … 5 = equal … 9 = B much better',
    },
    ranking: {
      type: 'array',
      minItems: 2,
      maxItems: 16,
      items: { type: 'integer', minimum: 0, maximum: 15 },
      description: 'more than 2 completions: positions in "shown", best first, all of them',
    },
    thumb: { enum: ['up', 'down'], description: 'thumbs tasks: up or down' },
    rating: {
      type: 'integer',
      minimum: 1,
      maximum: 7,
      description: 'likert tasks: 1 = very bad … 4 = neither good nor bad … 7 = very good',
    },
    shown: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'integer', minimum: 0, maximum: 15 },
      description: 'the display order the task came with ("shown" of /next, [0] for one completion), unchanged',
    },
    axes: {
      type: 'object',
      maxProperties: 20,
      propertyNames: { maxLength: 100 },
      additionalProperties: { type: 'integer', minimum: 1, maximum: 7, description: 'a rating from 1 to 7' },
      description: 'ratings 1–7 on the project\'s axes, e.g. {"accuracy": 6}',
    },
    feedback: { type: 'string', maxLength: 10000, description: 'what is wrong, in words; at most 10000 characters' },
  },
} as const;

export const createUserBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { ...name, description: "the user's name, 1–100 characters, unique" },
    role: { enum: ['labeler', 'admin'], description: 'labeler (default) or admin' },
    projects: {
      type: 'array',
      maxItems: 1000,
      uniqueItems: true,
      items: id('project'),
      description: 'ids of projects to add a labeler to',
    },
  },
} as const;

export const addMemberBody = {
  type: 'object',
  additionalProperties: false,
  required: ['userId'],
  properties: { userId: id('user, from GET /api/users') },
} as const;

export const emptyBody = {
  type: 'object',
  additionalProperties: false,
  description: 'no fields: send {}',
  properties: {},
} as const;

export const importBody = {
  type: 'object',
  additionalProperties: false,
  required: ['jsonl'],
  properties: {
    // NOTE: no minLength: ajv counts a string's code points one by one, ~0.3 s for a 30 MB file (an
    // empty file is refused by the import itself: "the file has no records").
    jsonl: { type: 'string', description: "the file's text: one JSON object a line" },
    format: {
      enum: ['auto', 'tasks', 'sample'],
      description: 'tasks ({prompt, completions, gold?}), sample (`rlhf sample --json` lines) or auto (default)',
    },
    completionsPerTask: {
      type: 'integer',
      minimum: 2,
      maximum: 16,
      description: 'sample format: completions of a prompt per task, 2 (pairs, default) to 16',
    },
    kind: {
      enum: ['pair', 'thumbs', 'likert'],
      description: 'the kind of task of lines without "kind", and of sample lines: pair (default), thumbs or likert',
    },
  },
} as const;

export const generateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['prompts'],
  properties: {
    prompts: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'string', maxLength: 20000 },
      description: '1–1000 prompts',
    },
    n: { type: 'integer', minimum: 2, maximum: 16, description: 'samples per prompt, 2–16 (default 2)' },
    completionsPerTask: {
      type: 'integer',
      minimum: 2,
      maximum: 16,
      description: 'completions per task, 2 (pairs, default) to 16',
    },
  },
} as const;

const flag = { enum: ['0', '1', 'true', 'false'], description: '1 or true to turn on' } as const;

export const exportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: {
      enum: ['trl', 'comparisons', 'kto'],
      description:
        'trl (prompt/chosen/rejected per pair), comparisons (our format) or kto (prompt/completion/label per ' +
        'thumbs or likert task)',
    },
    margin: flag,
    includeDisabled: flag,
    skipped: flag,
  },
} as const;

export const isOn = (v: unknown) => v === '1' || v === 'true';

/** The options of an import sent as a file (application/x-ndjson) go in the query string. */
export const importQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { type: 'string', description: 'with an application/x-ndjson body: auto, tasks or sample' },
    completionsPerTask: { type: 'string', description: 'with an application/x-ndjson body: 2–16' },
    kind: { type: 'string', description: 'with an application/x-ndjson body: pair, thumbs or likert' },
  },
} as const;

/**
 * An NDJSON import as the JSON form's body {jsonl, format?, completionsPerTask?, kind?}, for importBody to
 * check; the file itself is read from the request's importSource.
 */
export function importFromNdjson(query: Record<string, string | undefined>): Record<string, unknown> {
  const body: Record<string, unknown> = { jsonl: '' };
  if (query.format !== undefined) body.format = query.format;
  if (query.kind !== undefined) body.kind = query.kind;
  const k = query.completionsPerTask;
  if (k !== undefined) body.completionsPerTask = /^[0-9]{1,3}$/.test(k) ? Number(k) : k;
  return body;
}
