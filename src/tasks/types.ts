// The shapes of a built-in task: its data (corpus, demonstrations, prompts, held-out references)
// and its gold judge, the programmatic stand-in for people (as in Gao et al.'s synthetic set-up).

export interface TaskExample {
  prompt: string;
  completion: string;
}

export interface GoldJudge {
  name: string;
  /** Higher is better, in [−1, 1]. Deterministic, fast (thousands of calls per second), defined on any string. */
  score(prompt: string, completion: string): number;
  /** The parts of the score, for reports (e.g. { sentiment: 0.6, fluency: 1 }); `score` is among them. */
  explain(prompt: string, completion: string): Record<string, number>;
}

/** Sizes of what loadTask built, for reports. */
export interface TaskStats {
  /** Documents (paragraphs and jokes) and characters of the pretraining corpus. */
  corpusDocuments: number;
  corpusChars: number;
  corpusSentences: number;
  /** Documents held out of the corpus because the eval prompts come from them. */
  heldOutDocuments: number;
}

export interface TaskSpec {
  name: TaskName;
  description: string;
  /** Plain-text documents (paragraphs, jokes) to train the tokenizer and pretrain the LM on. */
  corpus: string[];
  /** Supervised demonstrations: a prompt and the text that followed it in the data. */
  sft: TaskExample[];
  /** Prompts for RL and for sampling pairs to label, in a seeded order (disjoint from eval). */
  trainPrompts: string[];
  /** Held-out prompts with reference completions; none of their text is in the corpus. */
  eval: { prompt: string; reference: string }[];
  /** What suits the task: completions end at EOS or at the first stop string. */
  generation: { maxNewTokens: number; stop: string[] };
  gold: GoldJudge;
  stats: TaskStats;
}

export interface LoadTaskOptions {
  /** Seeds the split and the prompts' cut points (default 0). */
  seed?: number;
  /** A small version (≈ 15% of the text, 48 eval prompts) for a smoke run in minutes. */
  quick?: boolean;
}

export type TaskName = 'positive' | 'tldr';
