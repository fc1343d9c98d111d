// tokenizer_config.json, the file transformers writes beside tokenizer.json: which tokens end and begin a
// sequence, the pad token, the context length and the chat template. The raw object is kept on the
// Tokenizer (hfConfig) for code that needs more of it (chat templates); here we read only the tokens.

import { readFileSync } from 'node:fs';

export type HFConfig = Record<string, unknown>;

export const CONFIG_FILE = 'tokenizer_config.json';

/** Reads and checks tokenizer_config.json; every error names the file. */
export function readHFConfig(path: string): HFConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${path}: expected a JSON object at the top level`);
  }
  return raw as HFConfig;
}

/**
 * The text of a token field such as eos_token: a string, an AddedToken object ({"content": …},
 * as older transformers wrote it), or null/absent (undefined here).
 */
export function tokenContent(config: HFConfig, field: string, source: string): string | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  throw new Error(`${source}: ${field} must be a string or {"content": string}, got ${JSON.stringify(v)}`);
}

/**
 * Id of the token the config names in `field`, or undefined when the field is absent. A named token
 * missing from the vocabulary is an error: it would silently give a wrong id.
 */
export function configTokenId(
  config: HFConfig,
  field: string,
  source: string,
  tokenToId: (t: string) => number | undefined,
): number | undefined {
  const content = tokenContent(config, field, source);
  if (content === undefined) return undefined;
  const id = tokenToId(content);
  if (id === undefined) {
    throw new Error(
      `${source}: ${field} is ${JSON.stringify(content)}, which is not a token of tokenizer.json; ` +
        'fix the config or use the tokenizer.json it was written for',
    );
  }
  return id;
}

/**
 * model_max_length, or null when absent or a placeholder: transformers writes int(1e30)
 * (VERY_LARGE_INTEGER) when a model sets no limit.
 */
export function modelMaxLength(config: HFConfig | null): number | null {
  const v = config?.model_max_length;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 1e18 ? v : null;
}
