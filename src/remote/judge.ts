// `--judge URL`: a language model served over the OpenAI chat completions API (vLLM, llama.cpp, TGI, a
// hosted API) as the monitor's pairwise judge. For each held-out prompt it is shown the policy's sample and
// the reference policy's sample, once in each order (so a judge that favours the first or the second
// position does not move the rate), and asked which is better; monitor/judge_win_rate is the share the
// policy wins (objectives/monitor-signals.ts), monitor/judge_invalid the share of answers with no verdict.

import { type Verdict, judgeWinRate } from '../objectives/monitor-signals.js';
import type { MonitorSignal } from '../train/monitor-signals.js';
import { type HttpOptions, httpOptionsFromEnv, requestJson, runPool, serverRoot, unexpectedAnswer } from './http.js';

export interface JudgeOptions extends HttpOptions {
  /** The "model" sent; default: the first the server lists at /v1/models. */
  model?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
}

const HINT =
  'Give --judge the base URL of an OpenAI-compatible server that answers POST /v1/chat/completions ' +
  '(vLLM, llama.cpp server, TGI).';

/** The judge's instructions; the completions are labeled A and B. */
export function judgeMessages(prompt: string, a: string, b: string): { role: 'system' | 'user'; content: string }[] {
  return [
    {
      role: 'system',
      content:
        'You compare two completions of the same prompt and say which one is better: more helpful, more ' +
        'accurate, better written. Answer with a single letter.',
    },
    {
      role: 'user',
      content:
        `Prompt:\n${prompt}\n\nCompletion A:\n${a}\n\nCompletion B:\n${b}\n\n` +
        'Which completion is better? Answer with the single letter A or B.',
    },
  ];
}

/** The letter an answer chooses: "A", "B", "**B**", "A." or "Completion B"; null when it names neither or both. */
export function parseChoice(text: string): 'A' | 'B' | null {
  const letters = [...text.matchAll(/\b([AB])\b/g)].map((m) => m[1]);
  const first = letters[0];
  if (!first) return null;
  // "A or B? B" names both: only a lone letter (or a letter repeated) is a verdict.
  return letters.every((l) => l === first) ? (first as 'A' | 'B') : null;
}

/** The chat completions server's root from what a user typed, with or without /v1 or /v1/chat/completions. */
export function judgeRoot(url: string): string {
  return serverRoot(url.replace(/\/chat\/completions\/?$/, ''), 'judge');
}

/** Asks the server for its first model's id (GET /v1/models): a judge that is down fails before training. */
async function firstModel(root: string, http: HttpOptions): Promise<string> {
  const u = `${root}/v1/models`;
  const json = await requestJson({ method: 'GET', url: u, what: 'judge', hint: HINT }, http);
  const id = (json as { data?: { id?: unknown }[] })?.data?.[0]?.id;
  if (typeof id !== 'string')
    throw unexpectedAnswer('judge', u, 'no "data" list of models with ids; give --judge-model NAME', json);
  return id;
}

/** The monitor's judge_win_rate signal, asking the server at `url`. */
export async function judgeSignal(url: string, opts: JudgeOptions = {}): Promise<MonitorSignal> {
  const root = judgeRoot(url);
  const http: JudgeOptions = { ...httpOptionsFromEnv(), ...opts };
  const model = opts.model || (await firstModel(root, http));
  const endpoint = `${root}/v1/chat/completions`;
  // The same pair asked again (a policy that did not change a sample) is not sent twice.
  const cache = new Map<string, 'A' | 'B' | null>();
  const ask = async (prompt: string, a: string, b: string): Promise<'A' | 'B' | null> => {
    const key = JSON.stringify([prompt, a, b]);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const body = { model, messages: judgeMessages(prompt, a, b), max_tokens: 8, temperature: 0, n: 1 };
    const json = await requestJson({ method: 'POST', url: endpoint, body, what: 'judge', hint: HINT }, http);
    const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
    if (typeof content !== 'string')
      throw unexpectedAnswer('judge', endpoint, 'no choices[0].message.content text', json);
    const choice = parseChoice(content);
    cache.set(key, choice);
    return choice;
  };
  return {
    name: 'judge_win_rate',
    direction: 1,
    needsReference: true,
    async measure(s) {
      const ref = s.referenceTexts;
      if (!ref) throw new Error("judge_win_rate needs the reference policy's samples of the held-out prompts");
      // Two questions a prompt: the policy's sample as A, then as B.
      const jobs = s.texts.flatMap((_, i) => [
        { i, policyFirst: true },
        { i, policyFirst: false },
      ]);
      const verdicts: Verdict[] = new Array(jobs.length).fill(null);
      await runPool(
        jobs.map((j, k) => ({ ...j, k })),
        http.concurrency ?? 4,
        async ({ i, policyFirst, k }) => {
          // Identical samples cannot lose or win: a tie, not asked.
          if (s.texts[i] === ref[i]) {
            verdicts[k] = 'tie';
            return;
          }
          const [a, b] = policyFirst ? [s.texts[i], ref[i]] : [ref[i], s.texts[i]];
          const c = await ask(s.prompts[i], a, b);
          verdicts[k] = c === null ? null : (c === 'A') === policyFirst ? 'policy' : 'reference';
        },
      );
      const r = judgeWinRate(verdicts);
      return { value: r.winRate, extra: { judge_invalid: r.invalid } };
    },
  };
}
