// Byte-level BPE tokenizer, compatible with GPT-2 and Hugging Face `tokenizers`.
//
//   const tok = Tokenizer.train(texts, { vocabSize: 8192 });   // ids: specials, 256 bytes, merges
//   tok.save('out/tokenizer.json');                             // HF tokenizer.json, atomic write
//   const gpt2 = Tokenizer.load('path/to/dir');                 // tokenizer.json or encoder.json + vocab.bpe
//   const ids = [...tok.encode(doc), tok.eosId];                // "<|endoftext|>" in text stays plain text
//   tok.decode(ids);                                            // bad UTF-8 / unknown ids -> U+FFFD
export { Tokenizer, EOS_TOKEN, type EncodeOptions, type TrainOptions, type TrainProgress } from './tokenizer.js';
