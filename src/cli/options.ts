// Flags from option declarations (src/train/options.ts): each declared option becomes one commander
// option with its help, default and range, whose value is checked as it is parsed; the parsed flags
// are read back into the trainer's configuration and validated as a whole (combinations of fields).

import { Command, InvalidArgumentError, Option } from 'commander';
import { OptionSpec, Options, OptionsSpec, ValuesOf, checkOption, describeRange } from '../train/options.js';

const ARG: Record<OptionSpec['type'], string> = {
  int: '<n>',
  number: '<x>',
  boolean: '',
  choice: '<name>',
  numbers: '<list>',
  string: '<text>',
  strings: '<text>',
};

/** Adds the declared options (all, or only `keys`) to cmd. */
export function addOptions<S extends OptionsSpec>(
  cmd: Command,
  opts: Options<S>,
  keys: (keyof S & string)[] = Object.keys(opts.spec),
): Command {
  for (const key of keys) cmd.addOption(toCommander(key, opts.spec[key]));
  return cmd;
}

/**
 * The configuration from parsed flags: declared options (all, or `keys`) from their flags, the rest
 * from the declaration's defaults; then the whole is validated.
 */
export function readOptions<S extends OptionsSpec>(
  opts: Options<S>,
  parsed: Record<string, unknown>,
  keys: (keyof S & string)[] = Object.keys(opts.spec),
): ValuesOf<S> {
  const v = opts.defaults() as Record<string, unknown>;
  for (const key of keys) {
    const attr = toCommander(key, opts.spec[key]).attributeName();
    // A copy: commander hands out the declaration's own default arrays.
    if (parsed[attr] !== undefined) v[key] = structuredClone(parsed[attr]);
  }
  opts.validate(v as ValuesOf<S>);
  return v as ValuesOf<S>;
}

/** The property of commander's parsed options that holds a declared option (e.g. --samples → samples). */
export function attributeOf(key: string, o: OptionSpec): string {
  return toCommander(key, o).attributeName();
}

function toCommander(key: string, o: OptionSpec): Option {
  const range = describeRange(o);
  const help = range && o.type !== 'choice' ? `${o.help} (${range})` : o.help;
  if (o.type === 'boolean') {
    // A switch that is on by default is turned off with --no-…
    if (o.default) {
      const flag = o.flag.startsWith('--no-') ? o.flag : `--no-${o.flag.slice(2)}`;
      return new Option(flag, help);
    }
    return new Option(o.flag, help).default(false);
  }
  const arg = (o.type === 'string' || o.type === 'strings') && o.arg ? o.arg : ARG[o.type];
  const opt = new Option(`${o.flag} ${arg}`, help);
  const check = (value: unknown) => {
    const msg = checkOption(key, o, value);
    if (msg) throw new InvalidArgumentError(msg.replace(/^\S+ \([^)]*\) /, ''));
    return value;
  };
  switch (o.type) {
    case 'int':
      opt.argParser((s: string) => check(/^\s*-?\d+\s*$/.test(s) ? Number(s) : s));
      break;
    case 'number':
      opt.argParser((s: string) => check(s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s));
      break;
    case 'choice':
      opt.choices(o.choices);
      break;
    case 'numbers':
      opt.argParser((s: string) => check(s.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)))));
      break;
    case 'strings':
      opt.argParser((s: string, prev: string[] | undefined) => {
        // NOTE: commander passes the default as `prev` on first use; the first use replaces it.
        const before = prev === o.default ? [] : (prev ?? []);
        const items = o.commas ? s.split(/(?<!\\),/).map((x) => x.replace(/\\,/g, ',').trim()) : [s];
        if (items.some((x) => x === ''))
          throw new InvalidArgumentError(`must be non-empty texts, got ${JSON.stringify(s)}`);
        return [...before, ...items];
      });
      break;
  }
  const shown =
    o.type === 'numbers'
      ? o.default.join(',')
      : o.type === 'strings'
        ? o.default.map((x) => JSON.stringify(x)).join(', ')
        : o.type === 'string'
          ? JSON.stringify(o.default)
          : String(o.default);
  // An empty default (a list, or a text that turns something on when given) goes without saying.
  const none = (o.type === 'strings' && o.default.length === 0) || (o.type === 'string' && o.default === '');
  return none ? opt : opt.default(o.default, shown);
}
