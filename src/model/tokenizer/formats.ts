// Reading and writing the two file formats: Hugging Face's tokenizer.json (what we save) and
// GPT-2's original encoder.json + vocab.bpe. Both are parsed into TokenizerParts; every error
// names the file and the field or line, and says how to fix it where there is a fix.

import { MAX_ID } from './bpe.js';

/** What a Tokenizer is built from, whatever the file format. */
export interface TokenizerParts {
  /** Token string -> id. Byte-level strings for ordinary tokens; raw text for special tokens. */
  vocab: Map<string, number>;
  /** Merges in rank order as [left id, right id, result id]. */
  merges: [number, number, number][];
  /** Special tokens, matched literally in text when encoding with allowSpecial. */
  specials: { content: string; id: number }[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const show = (x: unknown) => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
};

// NOTE: `where` is a function in the checks below: vocabularies have 10^5 tokens and merges, and
// building a message for each one that passes doubled the time to load Llama 3's tokenizer.json.

function checkId(id: unknown, where: () => string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new Error(`${where()} must be an integer id in [0, ${MAX_ID}], got ${show(id)}`);
  }
  return id;
}

/** Token strings -> ids, checking that no id is used twice; `owner` receives ids -> token strings. */
function readVocab(raw: unknown, where: string, owner = new Map<number, string>()): Map<string, number> {
  if (!isObject(raw)) throw new Error(`${where} must be an object mapping token -> id, got ${show(raw)}`);
  const vocab = new Map<string, number>();
  for (const tok in raw) {
    const id = checkId(raw[tok], () => `${where}[${show(tok)}]`);
    const other = owner.get(id);
    if (other !== undefined) {
      throw new Error(`${where}: id ${id} is used by both ${show(other)} and ${show(tok)}; ids must be unique`);
    }
    owner.set(id, tok);
    vocab.set(tok, id);
  }
  return vocab;
}

/** Resolves one merge to ids; the result token must be in the vocabulary too. */
function resolveMerge(
  vocab: Map<string, number>,
  left: string,
  right: string,
  where: () => string,
  vocabName: string,
): [number, number, number] {
  const a = vocab.get(left);
  const b = vocab.get(right);
  const c = vocab.get(left + right);
  if (a === undefined) throw new Error(`${where()}: token ${show(left)} is not in ${vocabName}`);
  if (b === undefined) throw new Error(`${where()}: token ${show(right)} is not in ${vocabName}`);
  if (c === undefined) throw new Error(`${where()}: merged token ${show(left + right)} is not in ${vocabName}`);
  return [a, b, c];
}

// ---- Hugging Face tokenizer.json ----

/**
 * Parses and checks a tokenizer.json object with a BPE model, whatever its normalizer, pre-tokenizer and
 * decoder: ids are unique integers, every merge resolves to vocabulary tokens, added tokens agree with
 * the vocabulary. `source` (a file name) prefixes every error message. Whether our byte-level encoder
 * can run the file is a separate question (own-pipeline.ts).
 */
export function parseTokenizerJson(json: unknown, source = 'tokenizer.json'): TokenizerParts {
  if (!isObject(json)) throw new Error(`${source}: expected a JSON object at the top level, got ${show(json)}`);
  const model = json.model;
  if (!isObject(model)) {
    throw new Error(
      `${source}: model must be an object, got ${show(model)}; expected a Hugging Face tokenizer.json ` +
        "(for GPT-2's encoder.json + vocab.bpe, use Tokenizer.fromGPT2Files or pass their directory to Tokenizer.load)",
    );
  }
  if (model.type !== undefined && model.type !== 'BPE') {
    throw new Error(`${source}: model.type is ${show(model.type)}; only "BPE" models are supported`);
  }
  const owner = new Map<number, string>();
  const vocab = readVocab(model.vocab, `${source}: model.vocab`, owner);
  if (!Array.isArray(model.merges)) {
    throw new Error(`${source}: model.merges must be an array of "left right" strings or [left, right] pairs`);
  }
  const merges = model.merges.map((m: unknown, i: number) => {
    const where = () => `${source}: model.merges[${i}]`;
    // HF's older string form is split on single spaces; BPE tokens never contain one (byte-level
    // tokens write it "Ġ", SentencePiece ones "▁").
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((p) => typeof p === 'string' && p !== '')) {
      throw new Error(`${where()} is not a pair: got ${show(m)} (expected "left right" or ["left", "right"])`);
    }
    return resolveMerge(vocab, pair[0], pair[1], where, 'model.vocab');
  });

  const specials: TokenizerParts['specials'] = [];
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new Error(`${source}: added_tokens must be an array, got ${show(added)}`);
  added.forEach((t: unknown, i: number) => {
    const where = `${source}: added_tokens[${i}]`;
    if (!isObject(t)) throw new Error(`${where} must be an object with "id" and "content", got ${show(t)}`);
    const id = checkId(t.id, () => `${where}.id`);
    if (typeof t.content !== 'string' || t.content === '') {
      throw new Error(`${where}.content must be a non-empty string, got ${show(t.content)}`);
    }
    const inVocab = vocab.get(t.content);
    if (inVocab !== undefined && inVocab !== id) {
      throw new Error(`${where}: ${show(t.content)} has id ${id} here but ${inVocab} in model.vocab`);
    }
    const other = owner.get(id);
    if (other !== undefined && other !== t.content) {
      throw new Error(
        `${where}: special token ${show(t.content)} has id ${id}, which model.vocab gives to ${show(other)}; ` +
          'give it an unused id',
      );
    }
    owner.set(id, t.content);
    specials.push({ content: t.content, id });
  });
  return { vocab, merges, specials };
}

/** Builds a tokenizer.json object that Hugging Face's `Tokenizer.from_file` loads. */
export function toTokenizerJson(parts: TokenizerParts): object {
  const byId = [...parts.vocab].sort((x, y) => x[1] - y[1]);
  const tokenOf = new Map<number, string>(byId.map(([t, id]) => [id, t]));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: parts.specials.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      // "" rather than null, as in GPT-2's own tokenizer.json, which every tokenizers release loads.
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      // NOTE: an object, so integer-like tokens ("0", "12") are listed first by JSON.stringify;
      // harmless, since readers treat vocab as a map.
      vocab: Object.fromEntries(byId),
      // The "left right" string form: every tokenizers release reads it (the array form needs >= 0.20).
      merges: parts.merges.map(([a, b]) => `${tokenOf.get(a)} ${tokenOf.get(b)}`),
    },
  };
}

// ---- GPT-2's encoder.json + vocab.bpe ----

/** Parses GPT-2's two files, given their text; the paths are for error messages. */
export function parseGPT2Files(
  encoderText: string,
  bpeText: string,
  encoderPath: string,
  bpePath: string,
): TokenizerParts {
  let encoder: unknown;
  try {
    encoder = JSON.parse(encoderText);
  } catch (e) {
    throw new Error(`${encoderPath}: not valid JSON (${(e as Error).message})`);
  }
  const vocab = readVocab(encoder, encoderPath);
  const merges: [number, number, number][] = [];
  const lines = bpeText.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const where = () => `${bpePath}:${i + 1}`;
    const pair = line.split(' ');
    if (pair.length !== 2 || pair[0] === '' || pair[1] === '') {
      throw new Error(`${where()}: expected two tokens separated by one space, got ${show(line)}`);
    }
    merges.push(resolveMerge(vocab, pair[0], pair[1], where, encoderPath));
  });
  const eos = vocab.get('<|endoftext|>');
  const specials = eos === undefined ? [] : [{ content: '<|endoftext|>', id: eos }];
  return { vocab, merges, specials };
}
