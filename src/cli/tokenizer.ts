// `rlhf tokenizer …`: train and inspect byte-level BPE tokenizers.

import { Command } from 'commander';
import { readSFTData, sftTexts } from '../data/text.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { intArg } from './args.js';

export function registerTokenizer(program: Command): void {
  const cmd = program
    .command('tokenizer')
    .description('train or try a byte-level BPE tokenizer (Hugging Face tokenizer.json)');
  cmd
    .command('train')
    .description('learn a BPE vocabulary from text')
    .requiredOption('--data <file>', '.txt, or .jsonl of {"text"}, {"prompt","completion"} or {"messages"}')
    .requiredOption('--out <file>', 'tokenizer.json to write')
    .option('--vocab-size <n>', 'vocabulary size, including 256 bytes and <|endoftext|>', intArg(258), 512)
    .action((o) => {
      const data = readSFTData(o.data);
      const texts = sftTexts(data);
      const t0 = performance.now();
      const tok = Tokenizer.train(texts, { vocabSize: o.vocabSize });
      tok.save(o.out);
      process.stdout.write(
        `tokenizer: ${tok.vocabSize} tokens in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${o.out}\n`,
      );
    });
  cmd
    .command('encode')
    .description('print the token ids of a text')
    .requiredOption(
      '--tokenizer <path>',
      'tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe',
    )
    .argument('<text>', 'text to encode')
    .action((text: string, o) => {
      const tok = Tokenizer.load(o.tokenizer);
      const ids = tok.encode(text, { allowSpecial: true });
      process.stdout.write(JSON.stringify({ ids, tokens: ids.map((i) => tok.idToToken(i)) }) + '\n');
    });
}
