// A reward model: a model's trunk (any family) with a scalar head read at the last token of prompt + completion +
// <|endoftext|>, its tokenizer, and the bias that centers its rewards (Stiennon et al.). A reward model trained
// on chat-rendered conversations keeps its chat template and scores every pair through it (chat-reward.ts):
// config.json says so ("rlhf": {"rewardInput": "chat"}) and tokenizer_config.json holds the template.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { type Parameter, Tensor } from '../engine/tensor.js';
import { Checkpoint, LM_HEAD, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { ChatTemplate } from './chat-template.js';
import { TOKENIZER_CONFIG, resolveChatTemplate, saveChatTemplate, tokenizerTokens } from './chat-template-file.js';
import { type RewardChat, chatRewardIds, withTokenizerSpecials } from './chat-reward.js';
import type { CausalLM } from './causal-lm.js';
import { ScalarHead, rewardHead } from './heads.js';
import { trainableParams } from './lora.js';
import { encodePrompt } from './prompt.js';
import { Tokenizer } from './tokenizer/index.js';

/**
 * Token ids of one scored text: prompt (as encodePrompt gives it: an empty one is end-of-text) +
 * completion + end-of-text, cut to at most T tokens.
 */
export function encodeForReward(tok: Tokenizer, prompt: string, completion: string, T: number): number[] {
  let c = tok.encode(completion);
  // The end of the completion and the end-of-text token carry the judgement: cut the prompt's start first.
  if (c.length > T - 2) c = c.slice(0, T - 2);
  return [...encodePrompt(tok, prompt, T - 1 - c.length), ...c, tok.eosId];
}

/** Sequences padded into one (S, T) batch, and where each one's last token is. */
export interface SeqBatch {
  ids: Int32Array;
  S: number;
  T: number;
  /** Row of each sequence's last token in the (S·T) flattening. */
  last: Int32Array;
}

export function padSequences(seqs: ArrayLike<number>[], padId: number): SeqBatch {
  const longest = Math.max(1, ...seqs.map((s) => s.length));
  const T = (longest + 3) & ~3; // whole SIMD vectors in attention
  const ids = new Int32Array(seqs.length * T).fill(padId);
  const last = new Int32Array(seqs.length);
  seqs.forEach((s, i) => {
    ids.set(s, i * T);
    last[i] = i * T + s.length - 1;
  });
  return { ids, S: seqs.length, T, last };
}

/** Rewards (S) of a batch of sequences, before the centering bias. */
export function rewardsOf(g: Graph, model: CausalLM, head: ScalarHead, b: SeqBatch): Tensor {
  const h = model.hidden(g, b.ids, b.S, b.T);
  return head.forward(g, ops.selectRows(g, h, b.last));
}

/** Rewards (S) of a batch of sequences on this thread, before the centering bias (no gradients). */
export function scoreSequences(model: CausalLM, head: ScalarHead, b: SeqBatch): number[] {
  const g = Graph.inference();
  const out = Array.from(rewardsOf(g, model, head, b).data);
  g.dispose();
  return out;
}

/** What a reward model reads: plain text, or conversations rendered by its chat template. */
export type RewardInput = 'text' | 'chat';

export class RewardModel {
  /** The chat template it scores through (a reward model trained on conversations), or null: plain text. */
  chatTemplate: ChatTemplate | null = null;

  constructor(
    readonly model: CausalLM,
    readonly head: ScalarHead,
    readonly tokenizer: Tokenizer,
    /** Subtracted from every raw score so that the reference set averages 0. */
    public bias = 0,
    /** Longest sequence scored (prompt + completion + end-of-text), in tokens. */
    readonly contextLength = model.config.nPositions,
    /** Multiplies every centered score (`rlhf train reward-normalize --std` sets it; 1 otherwise). */
    public gain = 1,
  ) {}

  /**
   * The parameters to train: the trunk (its adapters only, with LoRA) and the score head. A separate lm_head (an
   * untied Llama-family trunk) is left out: no reward reads it, and the checkpoint does not keep it
   * (LlamaForSequenceClassification has none).
   */
  get params(): Parameter[] {
    return [...trainableParams(this.model).filter((p) => p.name !== LM_HEAD), ...this.head.params];
  }

  /** What it reads: 'chat' with a chat template, else 'text'. */
  get input(): RewardInput {
    return this.chatTemplate ? 'chat' : 'text';
  }

  /**
   * Makes it score conversations through `template` (null: plain text again). The tokenizer's special tokens
   * join the template's, as on loading, so the end-of-turn token is found the same way both times.
   */
  useChatTemplate(template: ChatTemplate | null): void {
    this.chatTemplate = template && withTokenizerSpecials(template, this.tokenizer.specialTokens);
  }

  /**
   * Token ids of one (prompt, completion) pair as this model scores it: the text layout of encodeForReward, or,
   * for a chat reward model, the chat rendering (chat-reward.ts: `chat`'s messages when given; a prompt the
   * template already rendered kept as it is; else the prompt as the user's turn). A plain model ignores `chat`.
   */
  encode(prompt: string, completion: string, chat?: RewardChat): number[] {
    if (this.chatTemplate)
      return chatRewardIds(this.tokenizer, this.chatTemplate, prompt, completion, chat, this.contextLength);
    return encodeForReward(this.tokenizer, prompt, completion, this.contextLength);
  }

  save(dir: string, meta: Record<string, unknown> = {}): void {
    saveCheckpoint(dir, this.model, {
      heads: [this.head],
      tokenizer: this.tokenizer,
      meta: {
        kind: 'reward',
        rewardBias: this.bias,
        rewardGain: this.gain,
        contextLength: this.contextLength,
        ...meta,
        rewardInput: this.input,
      },
    });
    // NOTE: after the tokenizer, whose save rewrites tokenizer_config.json.
    if (this.chatTemplate) saveChatTemplate(dir, this.chatTemplate);
  }

  /** Loads a reward model directory (made by `rlhf train reward`). */
  static load(dir: string): RewardModel {
    return RewardModel.fromCheckpoint(loadCheckpoint(dir));
  }

  static fromCheckpoint(ck: Checkpoint): RewardModel {
    const head = ck.heads.get('score');
    if (!head) throw new Error(`${ck.dir}: not a reward model (no score.weight); train one with \`rlhf train reward\``);
    if (!ck.tokenizer) throw new Error(`${ck.dir}: the reward model has no tokenizer.json`);
    const bias = typeof ck.meta.rewardBias === 'number' ? ck.meta.rewardBias : 0;
    const ctx = typeof ck.meta.contextLength === 'number' ? ck.meta.contextLength : ck.model.config.nPositions;
    const gain = typeof ck.meta.rewardGain === 'number' ? ck.meta.rewardGain : 1;
    const rm = new RewardModel(ck.model, head, ck.tokenizer, bias, ctx, gain);
    const input = ck.meta.rewardInput ?? 'text';
    if (input === 'chat') {
      const template = resolveChatTemplate(undefined, [ck.dir], tokenizerTokens(ck.tokenizer));
      if (!template)
        throw new Error(
          `${ck.dir}: config.json says the reward model scores chat-rendered conversations ("rlhf": ` +
            `{"rewardInput": "chat"}) but the directory has no chat template (${TOKENIZER_CONFIG} "chat_template", ` +
            `or chat_template.jinja); put back the template it was trained with`,
        );
      rm.useChatTemplate(template);
    } else if (input !== 'text')
      throw new Error(
        `${ck.dir}: config.json "rlhf.rewardInput" is ${JSON.stringify(input)}; it must be "text" or "chat"`,
      );
    return rm;
  }

  /** A new reward model on a trunk (a pretrained or SFT model, or a fresh one). */
  static fromTrunk(model: CausalLM, tokenizer: Tokenizer, contextLength: number, seed = 0): RewardModel {
    return new RewardModel(model, rewardHead(model.config.nEmbd, seed), tokenizer, 0, contextLength);
  }
}
