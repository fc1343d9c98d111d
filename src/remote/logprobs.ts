// Log-probabilities in the answers of the model server: each sampled token's under the model
// (temperature 1, all ids, as completionLogProbs gives them) and its k most likely alternatives,
// in the completions shape ({token text: logprob}) and the chat shape ([{token, logprob, bytes}]).

import { Graph } from '../engine/graph.js';
import type { CausalLM } from '../model/causal-lm.js';
import { completionBatch } from '../model/logprobs.js';
import { Tokenizer } from '../model/tokenizer/index.js';

/** An id and its log-probability. */
export interface IdLogprob {
  id: number;
  logprob: number;
}

/** A sampled token: its log-probability and its k most likely alternatives, best first. */
export interface TokenLogprob extends IdLogprob {
  top: IdLogprob[];
}

/**
 * From one row of logits (V at off): log-softmax over all V ids at `id`, and the k most likely ids
 * below Vt (the tokenizer's vocabulary), best first.
 */
export function logprobsAt(
  logits: Float32Array,
  off: number,
  V: number,
  Vt: number,
  id: number,
  k: number,
): TokenLogprob {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, logits[off + v]);
  let z = 0;
  for (let v = 0; v < V; v++) z += Math.exp(logits[off + v] - m);
  const lse = m + Math.log(z);
  const top =
    k > 0
      ? Array.from({ length: Math.min(V, Vt) }, (_, v) => v)
          .sort((a, c) => logits[off + c] - logits[off + a])
          .slice(0, k)
          .map((v) => ({ id: v, logprob: logits[off + v] - lse }))
      : [];
  return { id, logprob: logits[off + id] - lse, top };
}

/** For each completion, per token its k most likely alternatives (a full forward over prompt + completion). */
export function topAlternatives(
  model: CausalLM,
  tok: Tokenizer,
  pairs: { prompt: number[]; completion: number[] }[],
  k: number,
): IdLogprob[][][] {
  const V = model.config.vocabSize;
  const out: IdLogprob[][][] = [];
  for (let i = 0; i < pairs.length; i += 16) {
    const part = pairs.slice(i, i + 16);
    const { ids, B, T } = completionBatch(part, tok.eosId);
    const g = Graph.inference();
    const logits = model.forward(g, ids, B, T).data; // (B, T, V)
    part.forEach((p, b) => {
      out.push(
        p.completion.map(
          (id, j) => logprobsAt(logits, (b * T + p.prompt.length - 1 + j) * V, V, tok.vocabSize, id, k).top,
        ),
      );
    });
    g.dispose();
  }
  return out;
}

/** Alternatives in the completions shape: {token text: logprob}. */
export function topRecord(tok: Tokenizer, top: IdLogprob[]): Record<string, number> {
  return Object.fromEntries(top.map((t) => [tok.decode([t.id]), t.logprob]));
}

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: { token: string; logprob: number; bytes: number[] | null }[];
}

/**
 * A token in the chat shape. NOTE: `bytes` are the UTF-8 of the token's decoded text (as vLLM
 * gives them), so a token that ends inside a character shows U+FFFD's bytes, not its own.
 */
export function chatTokenLogprob(tok: Tokenizer, t: TokenLogprob): ChatTokenLogprob {
  const entry = (id: number, logprob: number) => {
    const token = tok.decode([id]);
    return { token, logprob: Math.max(logprob, -9999), bytes: [...Buffer.from(token, 'utf8')] };
  };
  return { ...entry(t.id, t.logprob), top_logprobs: t.top.map((a) => entry(a.id, a.logprob)) };
}
