import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import {
  defineOptions,
  describeRange,
  mergeOptions,
  omitOptions,
  pickOptions,
  reviseOptions,
  withDefaults,
} from '../train/options.js';
import { ppoOptions } from '../train/ppo-config.js';
import { addOptions, readOptions } from './options.js';

const demo = defineOptions(
  {
    steps: { type: 'int', flag: '--steps', help: 'steps', default: 10, min: 1 },
    temperature: { type: 'number', flag: '--temperature', help: 'temperature', default: 1, above: 0 },
    percentiles: {
      type: 'numbers',
      flag: '--percentiles',
      help: 'thresholds',
      default: [50, 70],
      below: 100,
      min: 0,
      rising: true,
    },
    loss: { type: 'choice', flag: '--loss', help: 'loss', choices: ['sigmoid', 'ipo'] as const, default: 'sigmoid' },
    stop: { type: 'strings', flag: '--stop', help: 'stop text', default: [] },
    whiten: { type: 'boolean', flag: '--whiten', help: 'whiten', default: false },
    keep: { type: 'boolean', flag: '--keep', help: 'keep', default: true },
  },
  [(c) => (c.steps > 5 && c.loss === 'ipo' ? 'steps (--steps) must be ≤ 5 with --loss ipo' : null)],
);

/** Parses argv with a command built from the declaration; returns the configuration or the error text. */
function parse(argv: string[]): ReturnType<typeof demo.defaults> | string {
  let out: ReturnType<typeof demo.defaults> | string = '';
  const cmd = new Command('t').exitOverride().configureOutput({ writeErr: (s) => (out = s), writeOut: () => {} });
  addOptions(cmd, demo).action((o) => {
    out = readOptions(demo, o);
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (typeof out === 'string' && out === '') out = (e as Error).message;
  }
  return out;
}

describe('option declarations', () => {
  it('give the defaults when no flag is set', () => {
    assert.deepEqual(parse([]), {
      steps: 10,
      temperature: 1,
      percentiles: [50, 70],
      loss: 'sigmoid',
      stop: [],
      whiten: false,
      keep: true,
    });
  });

  it('parse every kind of flag', () => {
    const c = parse(['--steps', '3', '--temperature', '0.7', '--percentiles', '10,20,90', '--loss', 'ipo']);
    assert.deepEqual(c, {
      steps: 3,
      temperature: 0.7,
      percentiles: [10, 20, 90],
      loss: 'ipo',
      stop: [],
      whiten: false,
      keep: true,
    });
    const d = parse(['--stop', '\n', '--stop', '.', '--whiten', '--no-keep']);
    assert.ok(typeof d !== 'string');
    assert.deepEqual([d.stop, d.whiten, d.keep], [['\n', '.'], true, false]);
  });

  it('refuse bad values at parse time, naming the flag and the range', () => {
    assert.match(String(parse(['--temperature', '0'])), /--temperature.*must be a number > 0, got 0/);
    assert.match(String(parse(['--steps', '2.5'])), /--steps.*integer ≥ 1/);
    assert.match(String(parse(['--percentiles', '50,40'])), /--percentiles.*rising/);
    assert.match(String(parse(['--percentiles', '50,100'])), /--percentiles.*< 100/);
    assert.match(String(parse(['--loss', 'hinge'])), /--loss.*sigmoid, ipo/);
  });

  it('check combinations after parsing', () => {
    assert.match(String(parse(['--steps', '9', '--loss', 'ipo'])), /steps \(--steps\) must be ≤ 5 with --loss ipo/);
  });

  it('validate configurations given by code with the same rules', () => {
    const c = demo.defaults();
    c.temperature = 0;
    assert.throws(() => demo.validate(c), /^Error: temperature \(--temperature\) must be a number > 0, got 0$/);
    assert.throws(
      () => ppoOptions.validate({ ...ppoOptions.defaults(), minibatch: 64, rolloutBatch: 32 }),
      /minibatch \(--minibatch\) cannot exceed rolloutBatch \(--rollout-batch\)/,
    );
  });

  it('are changed by withDefaults and merged without clashes', () => {
    const other = withDefaults(demo, { steps: 4 });
    assert.equal(other.defaults().steps, 4);
    assert.equal(demo.defaults().steps, 10);
    assert.throws(() => withDefaults(demo, { steps: 0 }), /declared default of steps \(--steps\)/);
    const extra = defineOptions({ beta: { type: 'number', flag: '--beta', help: 'β', default: 0.1, above: 0 } });
    assert.equal(mergeOptions(demo, extra).defaults().beta, 0.1);
    assert.throws(() => mergeOptions(demo, demo), /declared twice/);
  });

  it('hand out fresh defaults each time', () => {
    const a = demo.defaults();
    a.percentiles.push(99);
    assert.deepEqual(demo.defaults().percentiles, [50, 70]);
  });

  it('describe two-sided ranges as intervals, open where the bound is excluded', () => {
    const n = (o: object) => describeRange({ type: 'number', flag: '--x', help: '', default: 0.5, ...o });
    assert.equal(n({ min: 0, below: 1 }), 'in [0, 1)');
    assert.equal(n({ above: 0, max: 1 }), 'in (0, 1]');
    assert.equal(n({ min: 0, max: 1 }), 'in [0, 1]');
    assert.equal(n({ below: 1 }), '< 1');
    assert.equal(n({ above: 0 }), '> 0');
  });

  it('read texts: one text, and lists split at commas ("\\," keeps one), refusing empty ones', () => {
    const t = defineOptions({
      sep: { type: 'string', flag: '--sep', help: 'separator', default: ' ' },
      phrases: { type: 'strings', flag: '--phrase', help: 'phrases', default: ['a', 'b'], min: 1, commas: true },
    });
    const run = (argv: string[]): ReturnType<typeof t.defaults> | string => {
      let out: ReturnType<typeof t.defaults> | string = '';
      const cmd = new Command('t').exitOverride().configureOutput({ writeErr: (s) => (out = s), writeOut: () => {} });
      addOptions(cmd, t).action((o) => {
        out = readOptions(t, o);
      });
      try {
        cmd.parse(argv, { from: 'user' });
      } catch (e) {
        if (out === '') out = (e as Error).message;
      }
      return out;
    };
    assert.deepEqual(run([]), { sep: ' ', phrases: ['a', 'b'] });
    assert.deepEqual(run(['--sep', '', '--phrase', 'x\\, y,z', '--phrase', 'w']), {
      sep: '',
      phrases: ['x, y', 'z', 'w'],
    });
    assert.match(String(run(['--phrase', 'x,,y'])), /--phrase.*non-empty/);
    assert.throws(
      () => t.validate({ sep: ' ', phrases: [] }),
      /phrases \(--phrase\) must be a list of non-empty texts, at least 1/,
    );
    // The declaration's default list is not handed out to be changed.
    const d = run([]);
    assert.ok(typeof d !== 'string');
    d.phrases.push('c');
    assert.deepEqual(t.defaults().phrases, ['a', 'b']);
  });

  it('are revised, picked and omitted', () => {
    const r = reviseOptions(demo, { steps: { min: 0, default: 0, help: 'steps (0 = from epochs)' } });
    assert.equal(r.defaults().steps, 0);
    assert.equal(r.spec.steps.help, 'steps (0 = from epochs)');
    assert.throws(() => reviseOptions(demo, { steps: { min: 20 } }), /declared default of steps/);
    assert.deepEqual(Object.keys(pickOptions(demo, ['steps', 'loss']).spec), ['steps', 'loss']);
    assert.ok(!('whiten' in omitOptions(demo, ['whiten']).spec));
    assert.throws(() => pickOptions(demo, ['nope' as 'steps']), /no option "nope"/);
  });
});
