import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { assertAllClose } from '../test-support/assert-close.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { halfToFloat, toBF16, toF16 } from './half.js';
import { readSafetensors, toFloat32, writeSafetensors } from './safetensors.js';
import { parseByteSize, readModelTensors, writeModelTensors } from './weights.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-weights-'));
const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const skipPython = python ? false : 'PyTorch not installed (apt-get install python3-torch)';

// Values every one of the three formats holds exactly, and values that need rounding.
const EXACT = Float32Array.of(0, -0, 1, -2.5, 0.15625, 1024, -0.001953125, Infinity, -Infinity);
const wavy = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.37) * 3.3);
const bf16Of = (x: Float32Array) => toFloat32({ dtype: 'BF16', shape: [x.length], data: toBF16(x) });
const f16Of = (x: Float32Array) => Float32Array.from(toF16(x), halfToFloat);

function tensors(): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([
    ['exact', { shape: [EXACT.length], data: EXACT }],
    ['a.weight', { shape: [30, 40], data: wavy(1200) }],
    ['b.weight', { shape: [40, 30], data: wavy(1200, 0.01) }],
    ['c.bias', { shape: [40], data: wavy(40, 100) }],
    ['scalar', { shape: [], data: Float32Array.of(7.25) }],
    ['empty', { shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

describe('readModelTensors / writeModelTensors', () => {
  it('F32 round-trips exactly (−0, NaN, ±Infinity included) with metadata format "pt"', () => {
    const dir = tmp();
    const src = tensors();
    src.set('nan', { shape: [2], data: Float32Array.of(Number.NaN, -1) });
    assert.deepEqual(writeModelTensors(dir, src), { files: ['model.safetensors'], totalSize: 4 * 2452 });
    const back = readModelTensors(dir);
    for (const [name, t] of src) {
      const got = back.get(name)!;
      assert.equal(got.dtype, 'F32', name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(got.data, t.data, name);
    }
    assert.deepEqual(readSafetensors(path.join(dir, 'model.safetensors')).metadata, { format: 'pt' });
  });

  it('BF16: exact for values it holds, rounded to nearest even otherwise, and read back as float32', () => {
    const dir = tmp();
    const src = tensors();
    writeModelTensors(dir, src, { dtype: 'BF16' });
    const file = readSafetensors(path.join(dir, 'model.safetensors'));
    for (const t of file.tensors.values()) assert.equal(t.dtype, 'BF16');
    const back = readModelTensors(dir);
    assert.deepEqual(back.get('exact')!.data, EXACT);
    for (const [name, t] of src) {
      const got = back.get(name)!;
      assert.equal(got.dtype, 'BF16');
      assert.deepEqual(got.shape, t.shape);
      assert.deepEqual(got.data, bf16Of(t.data), `${name}: the ties-to-even rounding of toBF16`);
      assertAllClose(got.data, t.data, { rtol: 2 ** -8 }, name); // half a step of an 8-bit significand
    }
  });

  it('F16: exact for values it holds, within half a step otherwise', () => {
    const dir = tmp();
    const src = tensors();
    writeModelTensors(dir, src, { dtype: 'F16' });
    const back = readModelTensors(dir);
    assert.deepEqual(back.get('exact')!.data, EXACT);
    for (const [name, t] of src) {
      assert.equal(back.get(name)!.dtype, 'F16');
      assert.deepEqual(back.get(name)!.data, f16Of(t.data), name);
      assertAllClose(back.get(name)!.data, t.data, { rtol: 2 ** -11, atol: 2 ** -25 }, name);
    }
  });

  it('converts 16-bit tensors longer than one read chunk (2^20 values) without seams', () => {
    const dir = tmp();
    const x = wavy((1 << 20) + 77);
    writeModelTensors(dir, { big: { shape: [x.length], data: x } }, { dtype: 'BF16' });
    assert.deepEqual(readModelTensors(dir).get('big')!.data, bf16Of(x));
  });

  it('shards as save_pretrained (3 files and an index) and loads them equal to the single file', () => {
    const one = tmp();
    const three = tmp();
    const src = tensors();
    writeModelTensors(one, src, { dtype: 'BF16' });
    // In BF16 exact + a are 2418 bytes, b 2400, c 80: at most 2450 bytes a shard splits them so.
    const w = writeModelTensors(three, src, { dtype: 'BF16', maxShardBytes: 2450 });
    const shards = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors'];
    shards.push('model-00003-of-00003.safetensors');
    assert.deepEqual(w.files, [...shards, 'model.safetensors.index.json']);
    assert.deepEqual(fs.readdirSync(three).sort(), [...shards, 'model.safetensors.index.json'].sort());
    const index = JSON.parse(fs.readFileSync(path.join(three, 'model.safetensors.index.json'), 'utf8'));
    assert.deepEqual(index, {
      metadata: { total_size: 2 * 2450 },
      weight_map: {
        'a.weight': shards[0],
        'b.weight': shards[1],
        'c.bias': shards[2],
        empty: shards[2],
        exact: shards[0],
        scalar: shards[2],
      },
    });
    assert.deepEqual(Object.keys(index.weight_map), Object.keys(index.weight_map).sort(), 'sorted, as sort_keys');
    const a = readModelTensors(one);
    const b = readModelTensors(three);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, t] of a) assert.deepEqual(b.get(name), t, name);

    // Saving unsharded over it removes the shards and the index, and the reverse removes model.safetensors.
    writeModelTensors(three, src);
    assert.deepEqual(fs.readdirSync(three), ['model.safetensors']);
    writeModelTensors(three, src, { maxShardBytes: 5000 });
    assert.ok(!fs.existsSync(path.join(three, 'model.safetensors')));
  });

  it('loadCheckpoint reads sharded BF16 weights, and saveCheckpoint records float32', () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 50, nPositions: 16 }), 3);
    const dir = tmp();
    saveCheckpoint(dir, model);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype, 'float32');
    const weights = new Map(model.params.map((p) => [p.name, { shape: [...p.shape], data: p.data }]));
    const w = writeModelTensors(dir, weights, { dtype: 'BF16', maxShardBytes: 20_000 });
    assert.ok(w.files.length > 3, `${w.files.length} files`);
    const back = loadCheckpoint(dir);
    back.model.params.forEach((p, i) => assert.deepEqual(p.data, bf16Of(model.params[i].data), p.name));

    fs.rmSync(path.join(dir, 'model.safetensors.index.json'));
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.safetensors not found, nor model\.safetensors\.index\.json: the checkpoint has config\.json but no/,
    );
  });
});

describe('readModelTensors errors name the file and the tensor', () => {
  function sharded(): string {
    const dir = tmp();
    writeModelTensors(dir, tensors(), { maxShardBytes: 4900 }); // exact + a | b | c, scalar, empty
    return dir;
  }
  const index = (dir: string) => path.join(dir, 'model.safetensors.index.json');

  it('neither file', () => {
    const dir = tmp();
    assert.throws(
      () => readModelTensors(dir),
      new RegExp(`${dir}: neither model\\.safetensors nor model\\.safetensors\\.index\\.json`),
    );
  });

  it('a shard the index lists is missing', () => {
    const dir = sharded();
    fs.rmSync(path.join(dir, 'model-00002-of-00003.safetensors'));
    assert.throws(
      () => readModelTensors(dir),
      (e: Error) => {
        assert.ok(e.message.startsWith(`${index(dir)}: shard model-00002-of-00003.safetensors (holding "`), e.message);
        assert.match(e.message, /not found in .*; download every file the index lists/);
        return true;
      },
    );
  });

  it('a tensor the index lists is not in its shard', () => {
    const dir = sharded();
    const j = JSON.parse(fs.readFileSync(index(dir), 'utf8'));
    j.weight_map['ghost.weight'] = 'model-00003-of-00003.safetensors';
    fs.writeFileSync(index(dir), JSON.stringify(j));
    const shard = path.join(dir, 'model-00003-of-00003.safetensors');
    assert.throws(
      () => readModelTensors(dir),
      (e: Error) => {
        assert.equal(
          e.message,
          `${index(dir)}: lists tensor "ghost.weight" in model-00003-of-00003.safetensors, but ${shard} has no ` +
            'such tensor; the shard and the index are from different saves',
        );
        return true;
      },
    );
  });

  it('an index without weight_map, a shard outside the directory, a tensor in two shards', () => {
    const dir = sharded();
    fs.writeFileSync(index(dir), '{"metadata": {}}');
    assert.throws(() => readModelTensors(dir), /index\.json: has no "weight_map" object/);
    fs.writeFileSync(index(dir), JSON.stringify({ weight_map: { x: '../x.safetensors' } }));
    assert.throws(() => readModelTensors(dir), /weight_map\["x"\] is "\.\.\/x\.safetensors"; it must be a file name/);
    const dup = tmp();
    writeSafetensors(path.join(dup, 'a.safetensors'), { x: { shape: [1], data: Float32Array.of(1) } });
    writeSafetensors(path.join(dup, 'b.safetensors'), { x: { shape: [1], data: Float32Array.of(2) } });
    fs.writeFileSync(index(dup), JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }));
    assert.throws(() => readModelTensors(dup), /b\.safetensors: tensor "x" is also in .*a\.safetensors/);
  });

  for (const dtype of ['I8', 'F8_E4M3', 'F64', 'I64']) {
    it(`an unsupported dtype (${dtype})`, () => {
      const dir = tmp();
      const size = { I8: 1, F8_E4M3: 1, F64: 8, I64: 8 }[dtype]!;
      const json = Buffer.from(JSON.stringify({ 'q.weight': { dtype, shape: [2], data_offsets: [0, 2 * size] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const file = path.join(dir, 'model.safetensors');
      fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(2 * size)]));
      assert.throws(
        () => readModelTensors(dir),
        (e: Error) => {
          assert.equal(
            e.message,
            `safetensors ${file}: tensor "q.weight": dtype "${dtype}" is not supported for model weights; ` +
              'supported: F32, F16, BF16',
          );
          return true;
        },
      );
    });
  }

  it('a truncated file', () => {
    const dir = tmp();
    writeModelTensors(dir, tensors());
    const file = path.join(dir, 'model.safetensors');
    fs.truncateSync(file, fs.statSync(file).size - 10);
    assert.throws(
      () => readModelTensors(dir),
      /safetensors .*model\.safetensors: tensor ".*": data_offsets .* out of range/,
    );
  });
});

describe('writeModelTensors input and sizes', () => {
  it('refuses bad tensors and limits, naming them', () => {
    const dir = tmp();
    assert.throws(
      () => writeModelTensors(dir, { w: { shape: [2, 2], data: new Float32Array(3) } }),
      /tensor "w" shape \[2,2\] does not fit its 3 values/,
    );
    assert.throws(() => writeModelTensors(dir, tensors(), { maxShardBytes: 0 }), /maxShardBytes must be a positive/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('a tensor larger than the shard limit gets a shard of its own', () => {
    const dir = tmp();
    const w = writeModelTensors(
      dir,
      {
        small: { shape: [10], data: new Float32Array(10) },
        huge: { shape: [1000], data: new Float32Array(1000) },
        tail: { shape: [10], data: new Float32Array(10) },
      },
      { maxShardBytes: 100 },
    );
    assert.deepEqual(w.files, [
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    const map = JSON.parse(fs.readFileSync(path.join(dir, w.files[2]), 'utf8')).weight_map;
    assert.deepEqual(map, { huge: w.files[0], small: w.files[1], tail: w.files[1] });
  });

  it('parseByteSize reads sizes as transformers spells them', () => {
    assert.equal(parseByteSize('5GB'), 5e9);
    assert.equal(parseByteSize('500MB'), 5e8);
    assert.equal(parseByteSize('100kb'), 1e5 / 8); // a final lowercase b is bits, as in transformers
    assert.equal(parseByteSize('2GiB'), 2 * 2 ** 30);
    assert.equal(parseByteSize('512MiB'), 2 ** 29);
    assert.equal(parseByteSize('1000'), 1000);
    for (const bad of ['', '5 GBs', '1.5GB', '0', 'GB', '-1MB'])
      assert.throws(() => parseByteSize(bad), /expected an integer followed by a unit, e\.g\. "5GB"/, bad);
  });
});

describe('16-bit weights against PyTorch', () => {
  it('BF16 and F16 written by torch read as torch.float() does, bit for bit', { skip: skipPython }, () => {
    const dir = tmp();
    const r = spawnSync(python!, ['tests/interop/torch_half_safetensors.py', 'write', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const t = readModelTensors(dir);
    for (const name of ['bf16', 'f16']) {
      const got = t.get(name)!;
      const want = t.get(`ref.${name}`)!;
      assert.equal(got.dtype, name === 'bf16' ? 'BF16' : 'F16');
      assert.deepEqual(got.shape, want.shape);
      assert.ok(got.data.some(Number.isNaN) && got.data.includes(Infinity), 'the specials are there');
      assert.deepEqual(new Uint32Array(got.data.buffer), new Uint32Array(want.data.buffer), name);
    }
  });

  it('our BF16 and F16 rounding is torch.to(dtype)', { skip: skipPython }, () => {
    const x = Float32Array.from({ length: 20000 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 14) - 8));
    x.set([1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, 65520, 2 ** -25, 3 * 2 ** -26, Number.NaN, -0, 3.4e38], 0);
    const dirs = (['F32', 'BF16', 'F16'] as const).map((dtype) => {
      const dir = tmp();
      writeModelTensors(dir, { x: { shape: [x.length], data: x } }, { dtype });
      return dir;
    });
    const r = spawnSync(python!, ['tests/interop/torch_half_safetensors.py', 'check', ...dirs], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { bf16: 0, f16: 0 });
  });
});
