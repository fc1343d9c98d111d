import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTask, loadTask, TASK_NAMES } from './registry.js';
import { loadUnits } from './sources.js';
import { passageOf } from './tldr.js';
import { splitSentences, wordCount } from './text.js';
import type { TaskName, TaskSpec } from './types.js';

const full: Record<TaskName, TaskSpec> = { positive: loadTask('positive'), tldr: loadTask('tldr') };

/** The data of a task (everything but the judge's functions), for comparing builds. */
function data(t: TaskSpec) {
  return { corpus: t.corpus, sft: t.sft, trainPrompts: t.trainPrompts, eval: t.eval, stats: t.stats };
}

test('the task names, and clear errors for bad names and options', () => {
  assert.deepEqual(TASK_NAMES, ['positive', 'tldr']);
  assert.throws(
    () => loadTask('sentiment' as TaskName),
    /unknown task "sentiment"; the built-in tasks are positive, tldr/,
  );
  assert.throws(() => loadTask('positive', { seed: -1 }), /seed must be a non-negative integer/);
  assert.throws(() => loadTask('positive', { seed: 1.5 }), /seed must be a non-negative integer/);
  assert.throws(() => loadTask('positive', { quick: 'yes' as unknown as boolean }), /"quick" must be true or false/);
});

test('the sources: Moby-Dick paragraphs and the jokes, cleaned', () => {
  const units = loadUnits();
  const moby = units.filter((u) => u.source === 'moby-dick'),
    jokes = units.filter((u) => u.source === 'jokes');
  assert.ok(moby.length > 2000 && jokes.length > 1800, `${moby.length} paragraphs, ${jokes.length} jokes`);
  assert.ok(moby[0].text.startsWith('Call me Ishmael.'), 'chapter 1 comes first; the front matter is left out');
  assert.ok(!units.some((u) => /\bEpilogue\b.*ESCAPED ALONE/.test(u.text)), 'the epilogue title is not a paragraph');
  assert.ok(!jokes.some((u) => /\b(?:fuck|shit)/i.test(u.text)));
  assert.ok(!units.some((u) => /&(?:quot|amp|#\d+);/.test(u.text)), 'HTML entities are decoded');
  assert.equal(new Set(units.map((u) => u.id)).size, units.length, 'unit ids are unique');
});

for (const name of TASK_NAMES) {
  const t = full[name];

  test(`${name}: full sizes (≥ 5k demonstrations, ≥ 1k training prompts, 200–500 eval prompts, ≥ 1 MB corpus)`, () => {
    assert.equal(t.name, name);
    assert.ok(t.sft.length >= 5000, `${t.sft.length} demonstrations`);
    assert.ok(t.trainPrompts.length >= 1000, `${t.trainPrompts.length} training prompts`);
    assert.ok(t.eval.length >= 200 && t.eval.length <= 500, `${t.eval.length} eval prompts`);
    assert.ok(t.stats.corpusChars >= 1_000_000, `${t.stats.corpusChars} corpus characters`);
    assert.equal(t.stats.corpusDocuments, t.corpus.length);
    assert.equal(
      t.stats.corpusChars,
      t.corpus.reduce((a, d) => a + d.length, 0),
    );
    assert.equal(new Set(t.trainPrompts).size, t.trainPrompts.length, 'training prompts are distinct');
    assert.equal(new Set(t.eval.map((e) => e.prompt)).size, t.eval.length, 'eval prompts are distinct');
  });

  test(`${name}: eval is disjoint from training, and its text is not in the corpus`, () => {
    const trainSide = new Set([...t.sft.map((e) => e.prompt), ...t.trainPrompts]);
    for (const e of t.eval) assert.ok(!trainSide.has(e.prompt), `eval prompt in training: ${e.prompt}`);
    const sftPrompts = new Set(t.sft.map((e) => e.prompt));
    for (const p of t.trainPrompts) assert.ok(sftPrompts.has(p), 'training prompts come from the training side');
    const corpus = t.corpus.join('\n');
    for (const e of t.eval) {
      // positive: the held-out sentence; tl;dr: each sentence of the passage (but "Aye, aye!")
      const sentences =
        name === 'positive'
          ? [e.prompt + e.reference]
          : splitSentences(passageOf(e.prompt)).filter((s) => wordCount(s) >= 5);
      for (const s of sentences) assert.ok(!corpus.includes(s), `eval text found in the corpus: ${s}`);
    }
  });

  test(`${name}: deterministic by seed; another seed, another split; quick is small`, () => {
    const a = buildTask(name, { seed: 7, quick: true }),
      b = buildTask(name, { seed: 7, quick: true });
    assert.deepEqual(data(a), data(b));
    const c = buildTask(name, { seed: 8, quick: true });
    assert.notDeepEqual(c.eval, a.eval);
    assert.ok(
      a.stats.corpusChars < t.stats.corpusChars / 4 && a.stats.corpusChars > 100_000,
      `quick corpus ${a.stats.corpusChars} chars`,
    );
    assert.equal(a.eval.length, 48);
    assert.ok(
      a.sft.length >= 500 && a.trainPrompts.length >= 200,
      `${a.sft.length} demonstrations, ${a.trainPrompts.length} prompts`,
    );
    // The gold judges of two builds agree.
    const e = a.eval[0];
    assert.equal(a.gold.score(e.prompt, e.reference), b.gold.score(e.prompt, e.reference));
  });

  test(`${name}: loadTask hands out fresh arrays`, () => {
    const x = loadTask(name);
    x.sft.length = 0;
    x.eval.pop();
    x.generation.stop.push('X');
    const y = loadTask(name);
    assert.equal(y.sft.length, t.sft.length);
    assert.equal(y.eval.length, t.eval.length);
    assert.deepEqual(y.generation.stop, ['\n']);
  });
}
