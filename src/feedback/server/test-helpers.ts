// Shared set-up of the server's tests (not a test itself): an in-memory store with an admin, a project
// with two member labelers and an outsider labeler in a second project, and a JSON caller for inject.

import type { LightMyRequestResponse } from 'fastify';
import { SqliteFeedbackStore } from '../store/sqlite.js';
import type { FeedbackStore } from '../store/types.js';
import { buildServer, type ServerOptions } from './app.js';

export interface Fixture {
  store: FeedbackStore;
  app: ReturnType<typeof buildServer>;
  tokens: { admin: string; ann: string; bob: string; outsider: string };
  ids: { ann: number; bob: number; outsider: number };
  project: number;
  other: number;
  call: (
    method: string,
    url: string,
    token?: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<LightMyRequestResponse>;
}

export async function fixture(
  options: Partial<ServerOptions> = {},
  settings = { overlap: 2, axes: ['accuracy'] },
  store: FeedbackStore = new SqliteFeedbackStore(':memory:'),
): Promise<Fixture> {
  const { token: admin } = await store.createUser('root', 'admin');
  const p = await store.createProject('summaries', settings);
  const o = await store.createProject('secret');
  const ann = await store.createUser('ann', 'labeler');
  const bob = await store.createUser('bob', 'labeler');
  const outsider = await store.createUser('eve', 'labeler');
  await store.addMember(p.id, ann.user.id);
  await store.addMember(p.id, bob.user.id);
  await store.addMember(o.id, outsider.user.id);
  const app = buildServer({ store, ...options });
  const call: Fixture['call'] = (method, url, token, body, headers = {}) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    store,
    app,
    call,
    project: p.id,
    other: o.id,
    tokens: { admin, ann: ann.token, bob: bob.token, outsider: outsider.token },
    ids: { ann: ann.user.id, bob: bob.user.id, outsider: outsider.user.id },
  };
}

export const pair = (i: number) => ({ prompt: `post ${i}`, completions: [`summary ${i} a`, `summary ${i} b`] });

/** The error body of a response. */
export function errorOf(r: LightMyRequestResponse): {
  code: string;
  message: string;
  field?: string;
  reason?: string;
  issues?: { line: number; field?: string; message: string }[];
} {
  return (r.json() as { error: ReturnType<typeof errorOf> }).error;
}
