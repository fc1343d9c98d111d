import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldError } from '../../data/field-error.js';
import type { SampleRecord } from '../../cli/sample.js';
import { ImportError, groupCompletions, parseImport } from './tasks-import.js';

const lines = (xs: unknown[]) => xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n');

function issuesOf(f: () => unknown): { line: number; field?: string; message: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ImportError) return e.issues;
    throw e;
  }
  assert.fail('expected an ImportError');
}

describe('parseImport', () => {
  it('reads task lines with gold and meta, skipping blank lines', () => {
    const r = parseImport(
      lines([
        { prompt: 'p', completions: ['a', 'b'], gold: [1, 0] },
        '',
        '  ',
        { prompt: '', completions: ['x', 'y', 'z'], meta: { id: 7 } },
      ]),
    );
    assert.equal(r.format, 'tasks');
    assert.equal(r.lines, 2);
    assert.deepEqual(r.tasks, [
      { prompt: 'p', completions: ['a', 'b'], gold: [1, 0] },
      { prompt: '', completions: ['x', 'y', 'z'], meta: { id: 7 } },
    ]);
  });

  it('names every bad line and field, and says how to fix it', () => {
    const issues = issuesOf(() =>
      parseImport(
        lines([
          { prompt: 'p', completions: ['a', 'b'] },
          { prompt: 'p', completions: ['a', 'a'] },
          { prompt: 'p', completions: ['a', 'b'], labels: [0] },
          { prompt: 3, completions: ['a', 'b'] },
          '[1, 2]',
          '{"prompt": ',
          { prompt: 'p', completions: ['a', ''] },
        ]),
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.field]),
      [
        [2, 'completions[1]'],
        [3, 'labels'],
        [4, 'prompt'],
        [5, undefined],
        [6, undefined],
        [7, 'completions[1]'],
      ],
    );
    assert.match(issues[0].message, /identical to completions\[0\]/);
    // Lone surrogates (as a JSON escape), NUL and whitespace-only texts: named by line, in both formats.
    const text = issuesOf(() =>
      parseImport(
        [
          '{"prompt": "p", "completions": ["a\\ud800", "b"]}',
          '{"prompt": "p", "completions": ["a", "\\u0000"]}',
          '{"prompt": "p", "completions": ["a", "  "]}',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      text.map((i) => [i.line, i.field, /lone surrogate|NUL|only whitespace/.exec(i.message)?.[0]]),
      [
        [1, 'completions[0]', 'lone surrogate'],
        [2, 'completions[1]', 'NUL'],
        [3, 'completions[1]', 'only whitespace'],
      ],
    );
    const samples = issuesOf(() =>
      parseImport('{"prompt": "p", "completion": "x\\udfff"}\n{"prompt": "p\\u0000", "completion": "y"}'),
    );
    assert.deepEqual(
      samples.map((i) => [i.line, i.field]),
      [
        [1, 'completion'],
        [2, 'prompt'],
      ],
    );
    assert.match(
      issues[1].message,
      /unknown field; a task has kind, prompt, completions \(pair\) or completion \(thumbs, likert\), gold, meta/,
    );
    assert.match(issues[3].message, /expected a JSON object, got an array of 2/);
    assert.match(issues[4].message, /not valid JSON/);
  });

  it('groups `rlhf sample --json` records of a prompt into tasks of k completions', () => {
    const rec = (prompt: string, completion: string, sample: number): SampleRecord => ({
      prompt,
      completion,
      sample,
      finish_reason: 'stop',
    });
    const text = lines([
      rec('A', 'a0', 0),
      rec('B', 'b0', 0),
      rec('A', 'a1', 1),
      rec('A', '', 2),
      rec('A', 'a2', 3),
      rec('B', 'b0', 1),
      rec('A', 'a3', 4),
      rec('A', 'a4', 5),
    ]);
    const r = parseImport(text);
    assert.equal(r.format, 'sample');
    assert.deepEqual(
      r.tasks.map((t) => [t.prompt, t.completions]),
      [
        ['A', ['a0', 'a1']],
        ['A', ['a2', 'a3']],
      ],
    );
    assert.deepEqual(r.notes, [
      '1 empty completion left out',
      '1 duplicate completion of the same prompt left out',
      '2 completions without a partner of the same prompt left out (sample with -n 2 or more)',
    ]);
    const k3 = parseImport(text, { completionsPerTask: 3 });
    assert.deepEqual(
      k3.tasks.map((t) => t.completions),
      [
        ['a0', 'a1', 'a2'],
        ['a3', 'a4'],
      ],
    );
    // best-of output has extra keys, which are accepted.
    const best = parseImport(
      lines([
        { prompt: 'q', completion: 'x', reward: 1.5, rewards: [1, 1.5], best_of: 2, finish_reason: 'stop' },
        { prompt: 'q', completion: 'y', reward: 0.5, rewards: [0.5], best_of: 2, finish_reason: 'stop' },
      ]),
    );
    assert.deepEqual(best.tasks[0].completions, ['x', 'y']);
  });

  it('refuses a file of one format read as the other, an empty file, and a file that forms no task', () => {
    assert.match(
      issuesOf(() => parseImport(lines([{ prompt: 'A', completion: 'x' }]), { format: 'tasks' }))[0].message,
      /one file holds one format/,
    );
    const asSample = issuesOf(() =>
      parseImport(lines([{ prompt: 'A', completions: ['x', 'y'] }]), { format: 'sample' }),
    )[0];
    assert.equal(asSample.field, 'completions');
    assert.match(asSample.message, /one file holds one format/);
    assert.match(issuesOf(() => parseImport('\n\n'))[0].message, /no records/);
    assert.match(
      issuesOf(() => parseImport(lines([{ prompt: 'A', completion: 'x' }])))[0].message,
      /no task could be formed.*without a partner/,
    );
    assert.match(
      issuesOf(() => parseImport(lines([{ text: 'x' }])))[0].message,
      /cannot tell the format from keys text/,
    );
    assert.throws(
      () => parseImport('{}', { completionsPerTask: 1 }),
      (e) => e instanceof FieldError && e.field === 'completionsPerTask',
    );
  });

  it('ImportError says how many lines were bad, and keeps at most 100 of them', () => {
    const e = (() => {
      try {
        parseImport(Array.from({ length: 150 }, () => 'x').join('\n'));
      } catch (err) {
        return err as ImportError;
      }
    })()!;
    assert.equal(e.total, 150);
    assert.equal(e.issues.length, 100);
    assert.match(e.message, /^150 bad lines, nothing imported: line 1: .*… and 145 more$/);
  });

  it('groupCompletions keeps prompt order and leaves out whitespace-only texts', () => {
    const notes: string[] = [];
    const t = groupCompletions(
      [
        { prompt: 'z', completion: 'a' },
        { prompt: 'y', completion: 'b' },
        { prompt: 'z', completion: ' \n' },
        { prompt: 'z', completion: 'c' },
        { prompt: 'y', completion: 'd' },
      ],
      2,
      notes,
    );
    assert.deepEqual(
      t.map((x) => [x.prompt, x.completions]),
      [
        ['z', ['a', 'c']],
        ['y', ['b', 'd']],
      ],
    );
    assert.deepEqual(notes, ['1 empty completion left out']);
  });
});

describe('parseImport of thumbs and Likert tasks', () => {
  it('reads lines of every kind side by side, and counts them', () => {
    const r = parseImport(
      lines([
        { kind: 'thumbs', prompt: 'p', completion: 'a', gold: 'up' },
        { kind: 'likert', prompt: 'p', completion: 'b', gold: 6, meta: { id: 1 } },
        { prompt: 'p', completions: ['a', 'b'] },
      ]),
    );
    assert.equal(r.format, 'tasks');
    assert.deepEqual(r.tasks, [
      { kind: 'thumbs', prompt: 'p', completions: ['a'], gold: 'up' },
      { kind: 'likert', prompt: 'p', completions: ['b'], gold: 6, meta: { id: 1 } },
      { prompt: 'p', completions: ['a', 'b'] },
    ]);
    assert.deepEqual(r.kinds, { thumbs: 1, likert: 1, pair: 1 });
  });

  it('the kind option makes lines without "kind" single-output tasks, and each sample a task of its own', () => {
    const tasks = parseImport(
      lines([
        { prompt: 'p', completion: 'a', gold: 'down' },
        { kind: 'pair', prompt: 'p', completions: ['a', 'b'] },
      ]),
      { kind: 'thumbs' },
    );
    assert.deepEqual(
      tasks.tasks.map((t) => [t.kind, t.completions, t.gold]),
      [
        ['thumbs', ['a'], 'down'],
        [undefined, ['a', 'b'], undefined],
      ],
      'a line\'s own "kind" wins',
    );
    const samples: Partial<SampleRecord>[] = [
      { prompt: 'A', completion: 'x', sample: 0 },
      { prompt: 'A', completion: 'y', sample: 1 },
      { prompt: 'A', completion: 'x', sample: 2 },
      { prompt: 'B', completion: ' ', sample: 0 },
    ];
    const r = parseImport(lines(samples), { kind: 'likert' });
    assert.equal(r.format, 'sample');
    assert.deepEqual(r.tasks, [
      { kind: 'likert', prompt: 'A', completions: ['x'], meta: { source: 'sample', line: 1 } },
      { kind: 'likert', prompt: 'A', completions: ['y'], meta: { source: 'sample', line: 2 } },
    ]);
    assert.deepEqual(r.notes, ['1 empty completion left out', '1 duplicate completion of the same prompt left out']);
    assert.throws(
      () => parseImport(lines(samples), { kind: 'stars' as never }),
      (e) => e instanceof FieldError && e.field === 'kind',
    );
  });

  it('names the line and field of a bad single-output task', () => {
    const issues = issuesOf(() =>
      parseImport(
        lines([
          { kind: 'thumbs', prompt: 'p', completions: ['a', 'b'] },
          { kind: 'likert', prompt: 'p', completion: 'a', gold: 0 },
          { kind: 'thumbs', prompt: 'p', completion: 'a', gold: true },
          { kind: 'stars', prompt: 'p', completion: 'a' },
          { kind: 'likert', prompt: 'p' },
          { prompt: 'p', completion: 'a' },
        ]),
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.field]),
      [
        [1, 'completions'],
        [2, 'gold'],
        [3, 'gold'],
        [4, 'kind'],
        [5, 'completion'],
        [6, 'completion'],
      ],
    );
    assert.match(issues[0].message, /judges one completion: give "completion"/);
    assert.match(issues[2].message, /must be "up" or "down"/);
    assert.match(issues[5].message, /give it "kind": "thumbs" or "likert"/);
  });
});
