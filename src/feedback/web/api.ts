// The pages' only way to the server: the JSON API with the bearer token kept in sessionStorage
// (per tab, gone when the tab closes). Network failures and 502–504 are retried with the same body,
// so a retried submission carries the same submissionId and the server stores it once.

import { neutralizeBidi } from './bidi.js';

const KEY = 'rlhf-token';

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * Moves a token from the URL fragment (`#token=…`, the sign-in link) into sessionStorage and strips
 * it from the address bar and history, so it is not bookmarked, shared or shown over a shoulder.
 */
export function takeTokenFromUrl(): void {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  const token = decodeURIComponent(m[1]);
  if (token) setToken(token);
  history.replaceState(null, '', location.pathname + location.search);
}

/**
 * A sign-in link opened in a tab that already shows the page changes only the fragment, which loads
 * nothing: reload, so the page starts again and takes the link's token (a new link replaces an old one).
 */
export function reloadOnSignInLink(): void {
  window.addEventListener('hashchange', () => {
    if (/(?:^#|&)token=/.test(location.hash)) location.reload();
  });
}

/** A refusal from the API ({error: {code, message, field?, reason?}}), or a network failure (status 0). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly issues?: unknown[],
    /** Why a submission conflicts: not_assigned, judged_already, places_taken, submission_reused. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRY_STATUS = [502, 503, 504];

/** One request with retries; returns the Response of the first answer that is not retried. */
async function request(method: string, path: string, body: unknown, retries: number): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload: string | Blob | undefined;
  if (body instanceof Blob) {
    headers['Content-Type'] = body.type;
    payload = body; // a file, sent as is
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body); // serialized once: every attempt sends the same bytes
  }
  for (let attempt = 0; ; attempt++) {
    let res: Response | null = null;
    try {
      res = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      if (attempt >= retries)
        throw new ApiFailure(
          0,
          'network',
          `the server could not be reached (${(e as Error).message}); check the connection and try again`,
        );
    }
    if (res && !(RETRY_STATUS.includes(res.status) && attempt < retries)) return res;
    await sleep(Math.min(4000, 300 * 2 ** attempt));
  }
}

async function failure(res: Response): Promise<ApiFailure> {
  try {
    const j = (await res.json()) as {
      error?: { code?: string; message?: string; field?: string; issues?: unknown[]; reason?: string };
    };
    const e = j.error;
    if (e?.message) return new ApiFailure(res.status, e.code ?? 'error', e.message, e.field, e.issues, e.reason);
  } catch {
    // not JSON: fall through
  }
  return new ApiFailure(res.status, 'error', `the server answered ${res.status} ${res.statusText}`);
}

/**
 * A JSON request (or a Blob sent as is, with its type as Content-Type); throws ApiFailure.
 * `retries`: extra attempts after a network failure or 502–504.
 */
export async function api<T>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  retries = method === 'GET' ? 2 : 0,
): Promise<T> {
  const res = await request(method, path, body, retries);
  if (!res.ok) throw await failure(res);
  return JSON.parse(await res.text(), plainNames) as T;
}

/**
 * Every `name` (users, projects, labelers) with its bidirectional controls shown as U+FFFD: the
 * store refuses them now, but a name stored before must not display as another.
 */
const plainNames = (key: string, v: unknown) => (key === 'name' && typeof v === 'string' ? neutralizeBidi(v) : v);

/** A download: the body as a Blob and the file name the server suggests. */
export async function download(path: string): Promise<{ blob: Blob; fileName: string }> {
  const res = await request('GET', path, undefined, 2);
  if (!res.ok) throw await failure(res);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const fileName = /filename="([^"]+)"/.exec(cd)?.[1] ?? 'export.jsonl';
  return { blob: await res.blob(), fileName };
}

/** A random id for a submission, made once and reused by every retry of it. */
export function newSubmissionId(): string {
  // NOTE: crypto.randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
