// Trainer options, each declared once: its field, flag, help, default, range and checks. The CLI
// turns a declaration into flags (src/cli/options.ts), the trainers validate their configuration
// with it, and the demo starts from its defaults, so a range or a default cannot drift between them.

interface Common {
  /** The command-line flag, e.g. '--clip-range'. */
  flag: string;
  help: string;
}

export interface IntOption extends Common {
  type: 'int';
  default: number;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
}

export interface NumberOption extends Common {
  type: 'number';
  default: number;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive lower bound (e.g. a learning rate or a temperature must be > 0). */
  above?: number;
  /** Exclusive upper bound (e.g. a held-out fraction must be < 1). */
  below?: number;
}

export interface BooleanOption extends Common {
  type: 'boolean';
  default: boolean;
}

export interface ChoiceOption<C extends string = string> extends Common {
  type: 'choice';
  choices: readonly C[];
  default: C;
}

/** A comma-separated list of numbers on the command line, e.g. '50,70,90'. */
export interface NumbersOption extends Common {
  type: 'numbers';
  default: number[];
  /** Inclusive bounds of every element. */
  min?: number;
  max?: number;
  /** Exclusive upper bound of every element. */
  below?: number;
  /** Each element at least the one before it. */
  rising?: boolean;
}

/** One text (may be empty). */
export interface StringOption extends Common {
  type: 'string';
  default: string;
  /** What the flag's value is in --help (default '<text>'), e.g. '<file>'. */
  arg?: string;
}

/** A list of non-empty texts: the flag is repeated, one text each time (or several, comma-separated, with `commas`). */
export interface StringsOption extends Common {
  type: 'strings';
  default: string[];
  /** At least this many texts. */
  min?: number;
  /** Each use of the flag holds comma-separated texts ('\\,' is a comma inside one). */
  commas?: boolean;
  /** What the flag's value is in --help (default '<text>'), e.g. '<dir|url|module>'. */
  arg?: string;
}

export type OptionSpec =
  | IntOption
  | NumberOption
  | BooleanOption
  | ChoiceOption
  | NumbersOption
  | StringOption
  | StringsOption;
export type OptionsSpec = Record<string, OptionSpec>;

type ValueOf<O extends OptionSpec> = O extends ChoiceOption
  ? O['choices'][number]
  : O extends BooleanOption
    ? boolean
    : O extends NumbersOption
      ? number[]
      : O extends StringsOption
        ? string[]
        : O extends StringOption
          ? string
          : number;

/** The configuration a declaration describes: one field per option. */
export type ValuesOf<S extends OptionsSpec> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** A check of a combination of fields; returns a message that names the fields, or null. */
export type Check<S extends OptionsSpec> = (v: ValuesOf<S>) => string | null;

export interface Options<S extends OptionsSpec> {
  readonly spec: S;
  readonly checks: readonly Check<S>[];
  /** A fresh configuration with every default. */
  defaults(): ValuesOf<S>;
  /** Checks every field, then the combinations; throws with the field, its flag, the value and the fix. */
  validate(v: ValuesOf<S>): void;
}

export function defineOptions<S extends OptionsSpec>(spec: S, checks: Check<S>[] = []): Options<S> {
  for (const [key, o] of Object.entries(spec)) {
    const msg = checkOption(key, o, o.default);
    if (msg) throw new Error(`the declared default of ${msg}`);
  }
  return {
    spec,
    checks,
    defaults: () =>
      structuredClone(Object.fromEntries(Object.entries(spec).map(([k, o]) => [k, o.default]))) as ValuesOf<S>,
    validate(v) {
      for (const [key, o] of Object.entries(spec)) {
        const msg = checkOption(key, o, (v as Record<string, unknown>)[key]);
        if (msg) throw new Error(msg);
      }
      for (const check of checks) {
        const msg = check(v);
        if (msg) throw new Error(msg);
      }
    },
  };
}

/** The same declaration with other defaults (a trainer's own learning rate, say). */
export function withDefaults<S extends OptionsSpec>(opts: Options<S>, defaults: Partial<ValuesOf<S>>): Options<S> {
  return reviseOptions(
    opts,
    Object.fromEntries(Object.entries(defaults).map(([k, d]) => [k, { default: d }])) as Revisions<S>,
  );
}

/** Changes to some options' declarations: another help text, default or range. */
export type Revisions<S extends OptionsSpec> = { [K in keyof S]?: Partial<Omit<S[K], 'type' | 'flag'>> };

/**
 * The same declaration with some options described differently: a trainer's own help, default or
 * range for a shared option (e.g. `--steps`, where 0 means "set by --epochs" for some trainers only).
 */
export function reviseOptions<S extends OptionsSpec>(opts: Options<S>, revisions: Revisions<S>): Options<S> {
  const spec = { ...opts.spec };
  for (const [k, r] of Object.entries(revisions)) {
    if (!(k in spec)) throw new Error(`reviseOptions: no option "${k}"`);
    (spec as Record<string, OptionSpec>)[k] = { ...spec[k], ...r } as OptionSpec;
  }
  return defineOptions(spec, [...opts.checks]);
}

/**
 * Only some options of a declaration (a trainer that has no use for the others). The combination
 * checks are kept, so they must not read the options left out.
 */
export function pickOptions<S extends OptionsSpec, K extends keyof S & string>(
  opts: Options<S>,
  keys: readonly K[],
): Options<Pick<S, K>> {
  for (const k of keys) if (!(k in opts.spec)) throw new Error(`pickOptions: no option "${k}"`);
  const spec = Object.fromEntries(keys.map((k) => [k, opts.spec[k]])) as Pick<S, K>;
  return defineOptions(spec, [...opts.checks] as unknown as Check<Pick<S, K>>[]);
}

/** A declaration without some options (see pickOptions). */
export function omitOptions<S extends OptionsSpec, K extends keyof S & string>(
  opts: Options<S>,
  keys: readonly K[],
): Options<Omit<S, K>> {
  for (const k of keys) if (!(k in opts.spec)) throw new Error(`omitOptions: no option "${k}"`);
  const rest = Object.keys(opts.spec).filter((k) => !(keys as readonly string[]).includes(k));
  return pickOptions(opts, rest as Exclude<keyof S & string, K>[]) as unknown as Options<Omit<S, K>>;
}

/** Two declarations as one (e.g. the optimizer's options and a trainer's own). */
export function mergeOptions<A extends OptionsSpec, B extends OptionsSpec>(
  a: Options<A>,
  b: Options<B>,
  checks: Check<A & B>[] = [],
): Options<A & B> {
  const clash = Object.keys(b.spec).filter((k) => k in a.spec);
  if (clash.length) throw new Error(`mergeOptions: ${clash.join(', ')} declared twice`);
  return defineOptions({ ...a.spec, ...b.spec } as A & B, [
    ...(a.checks as Check<A & B>[]),
    ...(b.checks as Check<A & B>[]),
    ...checks,
  ]);
}

/** What an option accepts, for help texts and messages: '≥ 1', '> 0', 'in [0, 1)', 'one of a, b'. */
export function describeRange(o: OptionSpec): string {
  switch (o.type) {
    case 'int':
    case 'number': {
      const above = o.type === 'number' ? o.above : undefined;
      const below = o.type === 'number' ? o.below : undefined;
      const lo =
        above !== undefined ? { x: above, open: true } : o.min !== undefined ? { x: o.min, open: false } : null;
      const hi =
        below !== undefined ? { x: below, open: true } : o.max !== undefined ? { x: o.max, open: false } : null;
      if (lo && hi) return `in ${lo.open ? '(' : '['}${lo.x}, ${hi.x}${hi.open ? ')' : ']'}`;
      if (lo) return `${lo.open ? '>' : '≥'} ${lo.x}`;
      if (hi) return `${hi.open ? '<' : '≤'} ${hi.x}`;
      return '';
    }
    case 'numbers': {
      const parts = [
        o.min !== undefined ? `≥ ${o.min}` : '',
        o.max !== undefined ? `≤ ${o.max}` : '',
        o.below !== undefined ? `< ${o.below}` : '',
      ].filter(Boolean);
      return [parts.length ? `each ${parts.join(' and ')}` : '', o.rising ? 'rising' : ''].filter(Boolean).join(', ');
    }
    case 'strings':
      return o.min ? `at least ${o.min}` : '';
    case 'choice':
      return `one of ${o.choices.join(', ')}`;
    default:
      return '';
  }
}

/** Checks one field's value; returns the message (field, flag, what is accepted, what was given) or null. */
export function checkOption(key: string, o: OptionSpec, v: unknown): string | null {
  const name = `${key} (${o.flag})`;
  const want = (what: string) => `${name} must be ${what}, got ${JSON.stringify(v)}`;
  switch (o.type) {
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return want(`an integer ${describeRange(o)}`.trim());
      return inRange(v, o) ? null : want(`an integer ${describeRange(o)}`);
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return want(`a number ${describeRange(o)}`.trim());
      return inRange(v, o) ? null : want(`a number ${describeRange(o)}`);
    case 'boolean':
      return typeof v === 'boolean' ? null : want('true or false');
    case 'choice':
      return typeof v === 'string' && o.choices.includes(v) ? null : want(describeRange(o));
    case 'string':
      return typeof v === 'string' ? null : want('a text');
    case 'strings': {
      const what = `a list of non-empty texts${o.min ? `, at least ${o.min}` : ''}`;
      if (!Array.isArray(v) || v.length < (o.min ?? 0)) return want(what);
      return v.every((s) => typeof s === 'string' && s !== '') ? null : want(what);
    }
    case 'numbers': {
      const what = `a list of numbers ${describeRange(o)}`.trim();
      if (!Array.isArray(v) || v.length === 0) return want(`${what}, at least one`);
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x !== 'number' || !Number.isFinite(x)) return want(what);
        if ((o.min !== undefined && x < o.min) || (o.max !== undefined && x > o.max)) return want(what);
        if (o.below !== undefined && !(x < o.below)) return want(what);
        if (o.rising && i > 0 && x < v[i - 1]) return want(what);
      }
      return null;
    }
  }
}

function inRange(v: number, o: IntOption | NumberOption): boolean {
  if (o.min !== undefined && v < o.min) return false;
  if (o.max !== undefined && v > o.max) return false;
  if (o.type === 'number' && o.above !== undefined && !(v > o.above)) return false;
  if (o.type === 'number' && o.below !== undefined && !(v < o.below)) return false;
  return true;
}
