// The committed PyTorch fixture of GRPO and RLOO (tests/fixtures/policy-gradient.json, read by grpo.test.ts
// and rloo.test.ts) is what its script computes today: run it where PyTorch is installed (CI installs it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { POLICY_GRADIENT_FIXTURE } from '../test-support/policy-gradient-fixture.js';

const SCRIPT = fileURLToPath(new URL('../../tests/interop/torch_policy_gradient.py', import.meta.url));
const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

it(
  'tests/interop/torch_policy_gradient.py prints the committed fixture',
  { skip: python ? false : 'PyTorch not installed (apt-get install python3-torch)' },
  () => {
    const r = spawnSync(python!, [SCRIPT, '--stdout'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout),
      JSON.parse(readFileSync(POLICY_GRADIENT_FIXTURE, 'utf8')),
      'regenerate with /usr/bin/python3 tests/interop/torch_policy_gradient.py',
    );
  },
);
