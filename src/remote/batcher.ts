// The model server's one queue of decoding work. Requests are decoded one batch at a time, in the
// order they came; unseeded requests with the same settings that wait together share a batch. A
// non-streaming batch runs on the worker threads in one go; a streaming batch runs a token at a time,
// handing each token to its request and letting the event loop send it (and notice a client that
// left) before the next one.

import { randomBytes } from 'node:crypto';
import type { CausalLM } from '../model/causal-lm.js';
import { type FinishReason, StepSampler } from '../model/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { TextSample, TextSampleOptions, sampleTexts, stopTokenIds } from '../train/generator.js';

export type DecodeOptions = Omit<TextSampleOptions, 'seed'>;

/** What a streaming request does with its tokens. */
export interface TokenSink {
  /**
   * Row `row` of the request (its choice index) drew `token` from the logits at logits[off … off + V − 1];
   * finish is set when this token ended the row. Returns true to end the row here (a stop string).
   */
  onToken(row: number, token: number, finish: FinishReason | null, logits: Float32Array, off: number): boolean;
  /** True once the client has gone: its rows stop. */
  closed(): boolean;
}

interface Job {
  rows: number[][];
  opts: DecodeOptions;
  seed?: number;
  sink?: TokenSink;
  resolve: (s: TextSample[]) => void;
  reject: (e: unknown) => void;
}

export type JobSpec = Omit<Job, 'resolve' | 'reject' | 'sink'>;

export class Batcher {
  private queue: Job[] = [];
  private running = false;

  constructor(
    private readonly model: CausalLM,
    private readonly tok: Tokenizer,
    private readonly maxRows: number,
    private readonly onBatch?: (requests: number, completions: number) => void,
  ) {}

  /** Decodes the rows; resolves with their samples. */
  run(job: JobSpec): Promise<TextSample[]> {
    return this.enqueue(job);
  }

  /** Decodes the rows a token at a time into `sink`; resolves when they have all finished or the client left. */
  async stream(job: JobSpec, sink: TokenSink): Promise<void> {
    await this.enqueue({ ...job, sink });
  }

  private enqueue(job: Omit<Job, 'resolve' | 'reject'>): Promise<TextSample[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const group = this.takeGroup();
      if (group.length === 0) continue;
      const rows = group.flatMap((j) => j.rows);
      // Unseeded jobs still get a fresh random seed each batch.
      const seed = group[0].seed ?? randomBytes(4).readUInt32LE(0);
      this.onBatch?.(group.length, rows.length);
      try {
        if (group[0].sink) await this.decodeStreaming(group, seed);
        else {
          const samples = sampleTexts(this.model, this.tok, rows, { ...group[0].opts, seed });
          let at = 0;
          for (const j of group) {
            j.resolve(samples.slice(at, at + j.rows.length));
            at += j.rows.length;
          }
        }
      } catch (e) {
        for (const j of group) j.reject(e);
      }
      // Answers go out, and requests that came in meanwhile are parsed, before the next batch.
      await new Promise((r) => setImmediate(r));
    }
    this.running = false;
  }

  /** The first queued job, with the later unseeded jobs of the same settings that fit beside it. */
  private takeGroup(): Job[] {
    const first = this.queue.shift()!;
    // A streaming client that left while waiting is not decoded for.
    if (first.sink?.closed()) {
      first.resolve([]);
      return [];
    }
    if (first.seed !== undefined) return [first];
    const key = JSON.stringify({ ...first.opts, stream: !!first.sink });
    const group = [first];
    let rows = first.rows.length;
    this.queue = this.queue.filter((j) => {
      if (j.seed !== undefined || JSON.stringify({ ...j.opts, stream: !!j.sink }) !== key) return true;
      if (rows + j.rows.length > this.maxRows || j.sink?.closed()) return true;
      group.push(j);
      rows += j.rows.length;
      return false;
    });
    return group;
  }

  /** One streaming batch: a token of every row per step, each handed to its job's sink. */
  private async decodeStreaming(group: Job[], seed: number): Promise<void> {
    const o = group[0].opts;
    const rows = group.flatMap((j) => j.rows);
    const owner = group.flatMap((job, g) => job.rows.map((_, row) => ({ g, row })));
    const firstRow = group.map((_, g) => owner.findIndex((w) => w.g === g));
    const left = group.map((j) => j.rows.length);
    const settled = group.map(() => false);
    const sampler = new StepSampler(this.model, rows, {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      stopTokens: stopTokenIds(this.tok, o.stop ?? []),
      vocabSize: this.tok.vocabSize,
      seed,
    });
    const V = this.model.config.vocabSize;
    const ended = (row: number) => {
      const g = owner[row].g;
      if (--left[g] === 0 && !settled[g]) {
        settled[g] = true;
        group[g].resolve([]);
      }
    };
    try {
      while (!sampler.done) {
        group.forEach((j, g) => {
          if (settled[g] || !j.sink!.closed()) return;
          for (let r = 0; r < j.rows.length; r++) sampler.finish(firstRow[g] + r, 'stop');
          settled[g] = true;
          j.resolve([]);
        });
        for (const t of sampler.step()) {
          const { g, row } = owner[t.row];
          if (settled[g]) continue;
          const stop = group[g].sink!.onToken(row, t.token, t.finish, sampler.logits, t.at * V);
          if (t.finish) ended(t.row);
          else if (stop) {
            sampler.finish(t.row, 'stop');
            ended(t.row);
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      group.forEach((j, g) => !settled[g] && j.reject(e));
      return;
    }
    group.forEach((j, g) => !settled[g] && j.resolve([]));
  }
}
