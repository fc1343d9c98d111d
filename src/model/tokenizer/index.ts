// Tokenizers: byte-level BPE trained here, and any Hugging Face tokenizer.json (docs/formats.md#tokenizers).
//
//   const tok = Tokenizer.train(texts, { vocabSize: 8192 });   // ids: specials, 256 bytes, merges
//   tok.save('out/tokenizer.json');                             // HF tokenizer.json, atomic write
//   const llama = Tokenizer.load('path/to/dir');                // tokenizer.json (+ tokenizer_config.json),
//                                                               // or GPT-2's encoder.json + vocab.bpe
//   const ids = [...tok.encode(doc), tok.eosId];                // "<|endoftext|>" in text stays plain text
//   llama.encode(doc, { addSpecialTokens: true });              // with the post-processor's BOS (Llama 2's <s>)
//   tok.decode(ids);                                            // bad UTF-8 / unknown ids -> U+FFFD
export { Tokenizer, EOS_TOKEN, type EncodeOptions, type TrainOptions, type TrainProgress } from './tokenizer.js';
export type { HFConfig } from './hf-config.js';
