// A RewardFn that calls `rlhf serve-reward` (POST /v1/score): consecutive items of the same prompt
// travel as one entry, entries are packed into requests of at most batchSize completions, sent
// with a concurrency limit and the retry machinery of http.ts. loadRewardFn reads `--reward DIR|URL`.

import { type RewardFn, type ScoredText, isRewardUrl, rewardModelFn } from '../train/reward-fn.js';
import { RewardModel } from '../model/reward-model.js';
import { type HttpOptions, httpOptionsFromEnv, requestJson, runPool, serverRoot, unexpectedAnswer } from './http.js';

export interface RemoteRewardOptions extends HttpOptions {
  /** Most completions in one request (default 256). */
  batchSize?: number;
  /** Requests in flight at once (default 2). */
  concurrency?: number;
}

const HINT = 'Start one with `rlhf serve-reward --model DIR --port 8001` (docs/remote.md).';

interface Piece {
  prompt: string;
  /** The prompt's messages (ScoredText.messages), sent along for a chat reward model. */
  messages?: ScoredText['messages'];
  /** Positions of its completions in the items. */
  at: number[];
}

const sameMessages = (a: ScoredText['messages'], b: ScoredText['messages']) =>
  a === b || JSON.stringify(a) === JSON.stringify(b);

/** Packs items into requests: entries of one prompt, at most batchSize completions each request. */
function pack(items: ScoredText[], batchSize: number): Piece[][] {
  const requests: Piece[][] = [];
  let cur: Piece[] = [],
    size = 0;
  items.forEach((it, i) => {
    if (size >= batchSize) {
      requests.push(cur);
      cur = [];
      size = 0;
    }
    const last = cur[cur.length - 1];
    if (last && last.prompt === it.prompt && sameMessages(last.messages, it.messages)) last.at.push(i);
    else cur.push({ prompt: it.prompt, ...(it.messages && { messages: it.messages }), at: [i] });
    size++;
  });
  if (cur.length) requests.push(cur);
  return requests;
}

/** Checks that the scorer at `url` answers (GET /v1/models), before a long run depends on it. */
export async function probeRewardServer(url: string, opts: RemoteRewardOptions = {}): Promise<string> {
  const root = serverRoot(url, 'reward server');
  const u = `${root}/v1/models`;
  const json = await requestJson(
    { method: 'GET', url: u, what: 'reward server', hint: HINT },
    { ...httpOptionsFromEnv(), ...opts },
  );
  const id = (json as { data?: { id?: unknown }[] })?.data?.[0]?.id;
  if (typeof id !== 'string') throw unexpectedAnswer('reward server', u, 'no "data" list of models with ids', json);
  return id;
}

/** The reward function of a `rlhf serve-reward` server (options default from RLHF_REMOTE_* variables). */
export function remoteRewardFn(url: string, opts: RemoteRewardOptions = {}): RewardFn {
  const root = serverRoot(url, 'reward server');
  const http: RemoteRewardOptions = { ...httpOptionsFromEnv(), ...opts };
  const endpoint = `${root}/v1/score`;
  return async (items: ScoredText[]) => {
    const scores = new Array<number>(items.length);
    const requests = pack(items, http.batchSize ?? 256);
    await runPool(requests, http.concurrency ?? 2, async (pieces) => {
      const body = {
        batch: pieces.map((p) => ({
          prompt: p.prompt,
          ...(p.messages && { messages: p.messages }),
          completions: p.at.map((i) => items[i].completion),
        })),
      };
      const json = await requestJson({ method: 'POST', url: endpoint, body, what: 'reward server', hint: HINT }, http);
      const batch = (json as { batch?: unknown })?.batch;
      if (!Array.isArray(batch) || batch.length !== pieces.length) {
        throw unexpectedAnswer('reward server', endpoint, `expected "batch" with ${pieces.length} entries`, json);
      }
      pieces.forEach((p, k) => {
        const s = (batch[k] as { scores?: unknown })?.scores;
        if (
          !Array.isArray(s) ||
          s.length !== p.at.length ||
          !s.every((x) => typeof x === 'number' && Number.isFinite(x))
        ) {
          throw unexpectedAnswer(
            'reward server',
            endpoint,
            `batch[${k}].scores should be ${p.at.length} finite numbers`,
            json,
          );
        }
        p.at.forEach((i, j) => (scores[i] = s[j] as number));
      });
    });
    return scores;
  };
}

/**
 * `--reward DIR|URL`: a reward-model directory as a reward function, or, given an http(s):// URL, the
 * reward function of a `rlhf serve-reward` server (RLHF_REMOTE_TIMEOUT, _RETRIES, _API_KEY apply).
 */
export function loadRewardFn(dirOrUrl: string): RewardFn {
  if (isRewardUrl(dirOrUrl)) {
    if (!URL.canParse(dirOrUrl))
      throw new Error(`reward URL "${dirOrUrl}" is not a URL; give one like http://127.0.0.1:8001`);
    // NOTE: built on first use, so a bad URL or RLHF_REMOTE_* value surfaces when scoring starts.
    let remote: RewardFn | undefined;
    return async (items) => (remote ??= remoteRewardFn(dirOrUrl))(items);
  }
  return rewardModelFn(RewardModel.load(dirOrUrl));
}
