// The text of one completion as it grows token by token, for streaming answers: what may be sent
// after each token so that the pieces join to the text a non-streaming answer gives. Two things are
// held back: the bytes of a character that is not complete yet (a token may end inside a multi-byte
// UTF-8 character), and text that may be the start of a stop string (a stop string is never sent).

/** The tokenizer's decode; a character cut off at the end decodes as U+FFFD. */
export type Decode = (ids: number[]) => string;

const REPLACEMENT = '\uFFFD';

export class TextStream {
  private readonly ids: number[] = [];
  /** Decoding window (vLLM's prefix/read offsets): ids[prefix, read) decoded to the end of `text`. */
  private prefix = 0;
  private read = 0;
  /** Text decoded so far, and how much of it was sent. */
  private text = '';
  private sent = 0;
  private readonly longest: number;
  /** Set once a stop string was found: the completion's final text. */
  private cut: string | null = null;

  constructor(
    private readonly decode: Decode,
    private readonly stop: readonly string[] = [],
  ) {
    this.longest = Math.max(0, ...stop.map((s) => s.length));
  }

  /** True once a stop string ended the text (push then returns stop: true and sends nothing more). */
  get stopped(): boolean {
    return this.cut !== null;
  }

  /**
   * Adds a generated token; returns the text that may be sent now ('' while held back), and
   * stop: true when a stop string completed (the text before it is then all sent).
   */
  push(id: number): { delta: string; stop: boolean } {
    if (this.cut !== null) return { delta: '', stop: true };
    this.ids.push(id);
    // NOTE: decoding a few tokens before the new ones, not the new ones alone, keeps what decoders
    // do to the start of a text (SentencePiece's leading-space strip) out of the middle of it.
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const now = this.decode(this.ids.slice(this.prefix));
    if (now.endsWith(REPLACEMENT) || now.length < before.length) return { delta: '', stop: false };
    const from = this.text.length;
    this.text += now.slice(before.length);
    this.prefix = this.read;
    this.read = this.ids.length;
    return this.release(from);
  }

  /** At the end (stop token, length): the rest, incomplete characters included (as U+FFFD). */
  flush(): string {
    if (this.cut !== null) return '';
    let out = '';
    if (this.read < this.ids.length) {
      const before = this.decode(this.ids.slice(this.prefix, this.read));
      const from = this.text.length;
      this.text += this.decode(this.ids.slice(this.prefix)).slice(before.length);
      this.read = this.ids.length;
      const r = this.release(from);
      out = r.delta;
      if (r.stop) return out;
    }
    out += this.text.slice(this.sent);
    this.sent = this.text.length;
    return out;
  }

  /** The text sent so far and still to send (the final text once finished). */
  get final(): string {
    return this.cut ?? this.text;
  }

  /** Sends what no stop string can claim, looking for stop strings that end after `from`. */
  private release(from: number): { delta: string; stop: boolean } {
    const text = this.text;
    let at = -1;
    const searchFrom = Math.max(0, from - this.longest + 1);
    for (const s of this.stop) {
      const i = text.indexOf(s, searchFrom);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.cut = text.slice(0, at);
      const delta = this.cut.slice(this.sent);
      this.sent = this.cut.length;
      return { delta, stop: true };
    }
    let safe = text.length - heldBack(text, this.stop);
    // Never split a surrogate pair.
    if (safe > this.sent && safe < text.length && isHighSurrogate(text.charCodeAt(safe - 1))) safe--;
    if (safe <= this.sent) return { delta: '', stop: false };
    const delta = text.slice(this.sent, safe);
    this.sent = safe;
    return { delta, stop: false };
  }
}

/** Length of the longest end of `text` that is the start of a stop string (it may yet become one). */
export function heldBack(text: string, stop: readonly string[]): number {
  let best = 0;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
      if (text.endsWith(s.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
