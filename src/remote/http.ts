// The HTTP machinery of the remote clients: JSON requests with a timeout per attempt, retries with
// exponential backoff and jitter on connection errors, timeouts, 408, 429 and 5xx (honouring
// Retry-After), errors that name the URL and show what the server answered, and a pool that keeps
// a fixed number of requests in flight.

export interface HttpOptions {
  /** Milliseconds one attempt may take, answer included (default 300 000). */
  timeoutMs?: number;
  /** Attempts after the first one (default 5). */
  retries?: number;
  /** First backoff delay in ms; doubles each retry (default 500). */
  backoffMs?: number;
  /** Longest backoff delay in ms (default 30 000). */
  maxBackoffMs?: number;
  /** Sent as `Authorization: Bearer …` (vLLM's --api-key, llama.cpp's --api-key). */
  apiKey?: string;
  /** Where retry notices go (default: stderr). */
  log?: (message: string) => void;
}

/** A request that failed for good: names the URL, and the HTTP status when there was one. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** At most n characters of what a server said, on one line. */
export function snippet(text: string, n = 300): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}… (${text.length} characters)` : one || '(empty body)';
}

/** Options from the environment: RLHF_REMOTE_TIMEOUT (seconds), RLHF_REMOTE_RETRIES, RLHF_REMOTE_API_KEY. */
export function httpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpOptions {
  const o: HttpOptions = {};
  const num = (name: string, min: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`${name} must be a number ≥ ${min}, got "${v}"`);
    return x;
  };
  const t = num('RLHF_REMOTE_TIMEOUT', 0.001);
  if (t !== undefined) o.timeoutMs = t * 1000;
  const r = num('RLHF_REMOTE_RETRIES', 0);
  if (r !== undefined) o.retries = Math.floor(r);
  if (env.RLHF_REMOTE_API_KEY) o.apiKey = env.RLHF_REMOTE_API_KEY;
  return o;
}

/**
 * The server's root from what a user typed: "http://h:8000", "http://h:8000/", "http://h:8000/v1"
 * or a full endpoint such as "http://h:8000/v1/completions" all give "http://h:8000".
 */
export function serverRoot(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} URL "${url}" is not a URL; give one like http://127.0.0.1:8000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`${what} URL "${url}" must start with http:// or https://`);
  if (u.search || u.hash) throw new Error(`${what} URL "${url}": leave out the query and fragment`);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/v1(\/(completions|models|score))?$/, '');
  return `${u.origin}${path}`;
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function describeNetworkError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (isTimeout(e)) return 'no answer within the timeout';
  const cause = err?.cause
    ? `: ${err.cause.code ?? ''}${err.cause.code && err.cause.message ? ' ' : ''}${err.cause.message ?? ''}`
    : '';
  return `${err?.message ?? String(e)}${cause}`;
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** A JSON value, or raw bytes (sent as application/octet-stream). */
  body?: unknown;
  /** Names the server in messages: "generator", "reward server". */
  what: string;
  /** How to fix it, appended when the server cannot be reached. */
  hint?: string;
}

/** Sends a request, retrying what may pass, and returns the parsed JSON answer. */
export async function requestJson(spec: RequestSpec, o: HttpOptions = {}): Promise<unknown> {
  const { method, url, what } = spec;
  const retries = o.retries ?? 5,
    backoff = o.backoffMs ?? 500,
    maxBackoff = o.maxBackoffMs ?? 30_000;
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (spec.body instanceof Uint8Array) {
    body = new Uint8Array(spec.body); // a copy on its own ArrayBuffer, as fetch's types want
    headers['content-type'] = 'application/octet-stream';
  } else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] = 'application/json';
  }
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    let failure: { retry: boolean; message: string; status?: number; wait?: number; timeout?: boolean };
    try {
      const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 300_000) });
      const text = await res.text();
      if (res.ok) {
        try {
          return JSON.parse(text);
        } catch {
          throw new RemoteError(
            `the ${what} at ${url} answered HTTP ${res.status} with something that is not JSON: ${snippet(text)}`,
            url,
            res.status,
          );
        }
      }
      failure = {
        retry: RETRY_STATUS.has(res.status),
        status: res.status,
        message: `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}: ${snippet(text)}`,
        wait: parseRetryAfter(res.headers.get('retry-after')),
      };
    } catch (e) {
      if (e instanceof RemoteError) throw e;
      failure = { retry: true, message: describeNetworkError(e), timeout: isTimeout(e) };
    }
    const spent = `${attempt + 1} attempt${attempt ? 's' : ''} over ${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (!failure.retry)
      throw new RemoteError(`the ${what} at ${url} refused the request: ${failure.message}`, url, failure.status);
    if (attempt >= retries) {
      if (failure.timeout) {
        throw new RemoteError(
          `the ${what} at ${url} gave no answer within ${((o.timeoutMs ?? 300_000) / 1000).toFixed(1)} s (${spent}); ` +
            'raise RLHF_REMOTE_TIMEOUT (seconds) or send smaller requests',
          url,
        );
      }
      if (failure.status === undefined) {
        throw new RemoteError(
          `cannot reach the ${what} at ${url} (${spent}): ${failure.message}. Is it ` +
            `running?${spec.hint ? ' ' + spec.hint : ''}`,
          url,
        );
      }
      throw new RemoteError(
        `the ${what} at ${url} kept failing (${spent}); last answer ${failure.message}`,
        url,
        failure.status,
      );
    }
    // Exponential backoff with equal jitter: half the delay fixed, half random, so clients that
    // failed together do not retry together.
    const d = Math.min(maxBackoff, backoff * 2 ** attempt);
    const delay = Math.min(maxBackoff, Math.max(failure.wait ?? 0, d / 2 + Math.random() * (d / 2)));
    log(
      `${what}: ${method} ${url} failed (${failure.message}); retry ${attempt + 1}/${retries} in ` +
        `${(delay / 1000).toFixed(1)} s`,
    );
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** An error for an answer of the wrong shape, showing it. */
export function unexpectedAnswer(what: string, url: string, why: string, answer: unknown): RemoteError {
  return new RemoteError(
    `the ${what} at ${url} answered something unexpected (${why}): ` +
      `${snippet(JSON.stringify(answer) ?? String(answer))}`,
    url,
  );
}

/**
 * Runs work(item) for every item with at most `concurrency` in flight. After the first failure no
 * new item starts; those in flight finish (so their results are kept), then the failure is thrown.
 */
export async function runPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}
