// Every route of the access table, called with no token, as an admin, as a member labeler and as a
// labeler of another project: the role and membership checks hold everywhere.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROUTES, type RouteSpec } from './access.js';
import { fixture, type Fixture } from './test-helpers.js';

type Who = 'nobody' | 'admin' | 'member' | 'outsider';

/** The status classes a caller may get: 401 (no token), 403 (wrong role or project), or through. */
function expected(spec: RouteSpec, who: Who): 401 | 403 | 'through' {
  if (spec.access === 'public') return 'through';
  if (who === 'nobody') return 401;
  if (spec.access === 'admin' && who !== 'admin') return 403;
  if (spec.access === 'labeler' && who === 'admin') return 403;
  if (spec.project && who === 'outsider') return 403;
  return 'through';
}

describe('access table', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.store.close());

  it('every route × every role: 401 without a token, 403 for a wrong role or project, else through', async () => {
    const tokens: Record<Who, string | undefined> = {
      nobody: undefined,
      admin: f.tokens.admin,
      member: f.tokens.ann,
      outsider: f.tokens.outsider,
    };
    const victim = (await f.store.createUser('victim', 'labeler')).user.id;
    let calls = 0;
    for (const [name, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
      const url = spec.url
        .replace(':id', String(spec.url.startsWith('/api/users') ? victim : f.project))
        .replace(':file', 'style.css')
        .replace('*', 'feedback/web/labeler.js');
      for (const who of Object.keys(tokens) as Who[]) {
        const r = await f.call(spec.method, url, tokens[who], spec.method === 'POST' ? {} : undefined);
        const want = expected(spec, who);
        const ctx = `${name} ${spec.method} ${url} as ${who}: ${r.statusCode} ${r.body.slice(0, 120)}`;
        if (want === 'through') assert.ok(r.statusCode !== 401 && r.statusCode !== 403, ctx);
        else {
          assert.equal(r.statusCode, want, ctx);
          assert.equal(r.json().error.code, want === 401 ? 'unauthorized' : 'forbidden', ctx);
        }
        calls++;
      }
    }
    assert.equal(calls, Object.keys(ROUTES).length * 4);
  });

  it('a bad, unknown or disabled token is 401; the check runs before the body is read', async () => {
    assert.equal((await f.call('GET', '/api/me', 'nope')).statusCode, 401);
    assert.equal(
      (await f.call('GET', '/api/me', undefined, undefined, { authorization: `Basic ${f.tokens.admin}` })).statusCode,
      401,
    );
    const big = { jsonl: 'x'.repeat(100_000) };
    const r = await f.call('POST', `/api/projects/${f.project}/judgments`, undefined, big);
    assert.equal(r.statusCode, 401, 'no token: refused before the oversized body is parsed');
    const { user, token } = await f.store.createUser('gone', 'labeler');
    await f.store.disableUser(user.id);
    assert.equal((await f.call('GET', '/api/me', token)).statusCode, 401);
  });

  it('a route outside the access table cannot be added', async () => {
    const fresh = await fixture();
    assert.throws(() => fresh.app.get('/api/backdoor', async () => 'x'), /not in the access table/);
    await fresh.store.close();
  });

  it('the admin of --admin-token is an admin without a row in the store', async () => {
    const g = await fixture({ adminToken: 'a-long-static-admin-token' });
    const me = await g.call('GET', '/api/me', 'a-long-static-admin-token');
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json().user, { id: 0, name: 'admin', role: 'admin' });
    assert.equal((await g.call('GET', '/api/users', 'a-long-static-admin-token')).statusCode, 200);
    assert.equal((await g.call('GET', '/api/me', 'a-long-static-admin-tokeN')).statusCode, 401);
    await g.store.close();
  });
});
