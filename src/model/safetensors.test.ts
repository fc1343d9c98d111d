import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  readSafetensors,
  readSafetensorsF32,
  writeSafetensors,
  parseSafetensors,
  halfToFloat,
  type TensorToWrite,
} from './safetensors.js';

// Fixtures are found from the repo root, where `node --test` runs.
const GOLDEN = path.join(process.cwd(), 'tests', 'fixtures', 'golden');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
}

/** Build a file by hand: header object (or raw string) + data bytes, optional header length override. */
function craft(header: object | string, data: Uint8Array, lengthField?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthField ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function writeCrafted(bytes: Buffer): string {
  const file = path.join(tmpDir(), 'crafted.safetensors');
  fs.writeFileSync(file, bytes);
  return file;
}

describe('safetensors round trip', () => {
  test('every dtype, shapes (incl. scalar and empty) and metadata survive write → read', () => {
    const tensors: Record<string, TensorToWrite> = {
      f32: { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, Infinity]) },
      f64: { shape: [3], data: new Float64Array([1 / 3, -1e300, 5e-324]) },
      f16: { shape: [2], data: new Uint16Array([0x3c00, 0xc000]), dtype: 'F16' },
      bf16: { shape: [2], data: new Uint16Array([0x3f80, 0xc020]), dtype: 'BF16' },
      i64: { shape: [2], data: new BigInt64Array([-1n, 2n ** 62n]) },
      i32: { shape: [2, 2], data: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]) },
      u8: { shape: [3], data: new Uint8Array([0, 128, 255]) },
      bool: { shape: [3], data: new Uint8Array([1, 0, 1]), dtype: 'BOOL' },
      scalar: { shape: [], data: new Float32Array([42]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    };
    const file = path.join(tmpDir(), 'all.safetensors');
    writeSafetensors(file, tensors, { format: 'pt', note: 'ünïcode ✓' });
    const { tensors: back, metadata } = readSafetensors(file);
    assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode ✓' });
    assert.deepEqual([...back.keys()].sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.get(name)!;
      const wantDtype =
        t.dtype ??
        { Float32Array: 'F32', Float64Array: 'F64', Int32Array: 'I32', BigInt64Array: 'I64', Uint8Array: 'U8' }[
          t.data.constructor.name
        ];
      assert.equal(got.dtype, wantDtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.equal(got.data.constructor, t.data.constructor, name);
      assert.deepEqual(Array.from(got.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), name);
    }
    // -0 must stay -0 (deepEqual on arrays of numbers uses Object.is).
    assert.ok(Object.is((back.get('f32')!.data as Float32Array)[4], -0));
  });

  test('the file is laid out as the format says: u64 LE length, space-padded JSON, 8-aligned data', () => {
    const file = path.join(tmpDir(), 'layout.safetensors');
    writeSafetensors(file, {
      a: { shape: [1], data: new Uint8Array([7]) },
      b: { shape: [1], data: new Float64Array([2]) },
    });
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    // Widest dtype first so every tensor is aligned.
    assert.deepEqual(header.b.data_offsets, [0, 8]);
    assert.deepEqual(header.a.data_offsets, [8, 9]);
    assert.equal(buf.length, 8 + n + 9);
    assert.equal(header.__metadata__, undefined);
  });

  test('aligned tensors are views into one buffer; F32 passes through readSafetensorsF32 uncopied', () => {
    const file = path.join(tmpDir(), 'views.safetensors');
    writeSafetensors(file, {
      x: { shape: [4], data: new Float32Array([1, 2, 3, 4]) },
      y: { shape: [2], data: new Float32Array([5, 6]) },
    });
    const { tensors } = readSafetensors(file);
    assert.equal(tensors.get('x')!.data.buffer, tensors.get('y')!.data.buffer);
    const f32 = readSafetensorsF32(file).tensors;
    assert.deepEqual(Array.from(f32.get('y')!.data), [5, 6]);
  });

  test('misaligned data (header length not a multiple of 8, as some writers do) is copied correctly', () => {
    const data = new Uint8Array(new Float32Array([1.5, -2.5]).buffer);
    const header = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }; // JSON length 57: unaligned
    const bytes = craft(header, data);
    assert.notEqual(JSON.stringify(header).length % 4, 0);
    const { tensors } = readSafetensors(writeCrafted(bytes));
    assert.deepEqual(Array.from(tensors.get('x')!.data as Float32Array), [1.5, -2.5]);
    // A fresh buffer at offset 0 makes the misalignment certain (readFileSync may pool small files).
    const fresh = parseSafetensors(new Uint8Array(bytes), 'fresh').tensors.get('x')!.data;
    assert.deepEqual(Array.from(fresh as Float32Array), [1.5, -2.5]);
  });

  test('overwrites atomically and leaves no temp files behind', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'w.safetensors');
    writeSafetensors(file, { x: { shape: [1], data: new Float32Array([1]) } });
    writeSafetensors(file, { x: { shape: [1], data: new Float32Array([2]) } });
    assert.deepEqual(fs.readdirSync(dir), ['w.safetensors']);
    assert.equal((readSafetensors(file).tensors.get('x')!.data as Float32Array)[0], 2);
  });

  test('writer rejects bad input with messages naming the tensor', () => {
    const file = path.join(tmpDir(), 'bad.safetensors');
    assert.throws(
      () => writeSafetensors(file, { w: { shape: [2, 2], data: new Float32Array(3) } }),
      /tensor "w" shape \[2, 2\] has 4 elements but data has 3/,
    );
    assert.throws(
      () => writeSafetensors(file, { h: { shape: [1], data: new Uint16Array(1) } }),
      /tensor "h" is a Uint16Array; pass dtype 'F16' or 'BF16'/,
    );
    assert.throws(
      () => writeSafetensors(file, { h: { shape: [1], data: new Float32Array(1), dtype: 'I32' } }),
      /tensor "h" has dtype I32 but its data is a Float32Array/,
    );
    assert.throws(
      () =>
        writeSafetensors(path.join(tmpDir(), 'no', 'such', 'dir.safetensors'), {
          x: { shape: [1], data: new Float32Array(1) },
        }),
      /writeSafetensors .*dir\.safetensors/,
    );
    assert.equal(fs.existsSync(file), false);
  });
});

describe('safetensors corrupt files', () => {
  const f32x2 = new Uint8Array(8);
  const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Buffer, RegExp][] = [
    ['shorter than 8 bytes', Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
    [
      'header length beyond the file',
      craft(ok, f32x2, 10_000n),
      /header length field says 10000 bytes but only \d+ follow/,
    ],
    ['absurd header length', craft(ok, f32x2, 2n ** 60n), /header length field says \d+ bytes \(limit/],
    ['header length too short', craft(ok, f32x2, 1n), /header length field says 1 bytes, too short/],
    ['header not JSON', craft('{"x": nope}', f32x2), /header is not valid UTF-8 JSON/],
    ['header an array', craft('[1,2]', f32x2), /header JSON is not an object/],
    [
      'unknown dtype',
      craft({ x: { dtype: 'F8', shape: [2], data_offsets: [0, 8] } }, f32x2),
      /tensor "x": unknown dtype "F8"; supported: F32/,
    ],
    [
      'offsets past the end',
      craft({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32x2),
      /tensor "x": data_offsets \[0, 16\] out of range; the data section has 8 bytes/,
    ],
    [
      'begin after end',
      craft({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32x2),
      /tensor "x": data_offsets \[8, 0\] out of range/,
    ],
    [
      'size mismatch',
      craft({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32x2),
      /tensor "x": shape \[3\] × F32 \(4 bytes\) needs 12 bytes but data_offsets span 8/,
    ],
    [
      'negative dim',
      craft({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32x2),
      /tensor "x": shape \[-2\] is not a list of non-negative integers/,
    ],
    [
      'bad offsets',
      craft({ x: { dtype: 'F32', shape: [2], data_offsets: [0] } }, f32x2),
      /tensor "x": data_offsets \[0\] is not \[begin, end\]/,
    ],
    [
      'overlap',
      craft(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        f32x2,
      ),
      /tensor "b" data_offsets \[4, 8\] overlap tensor "a" \[0, 8\]/,
    ],
    [
      'overlap hidden behind an empty tensor',
      craft(
        {
          a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] },
          z: { dtype: 'U8', shape: [0], data_offsets: [4, 4] },
          b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] },
        },
        f32x2,
      ),
      /tensor "b" .* overlap tensor "a"/,
    ],
    [
      'metadata not strings',
      craft({ __metadata__: { step: 3 }, ...ok }, f32x2),
      /"__metadata__"."step" is 3; metadata values must be strings/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    test(what, () => {
      const file = writeCrafted(bytes);
      assert.throws(
        () => readSafetensors(file),
        (e: Error) => {
          assert.match(e.message, message);
          assert.ok(e.message.includes(file), `error names the file: ${e.message}`);
          return true;
        },
      );
    });
  }

  test('a truncated real checkpoint is reported as out of range', () => {
    const full = fs.readFileSync(path.join(GOLDEN, 'tiny-gpt2', 'model.safetensors'));
    assert.throws(
      () => parseSafetensors(full.subarray(0, full.length - 100), 'cut.safetensors'),
      /safetensors cut\.safetensors: tensor ".*": data_offsets .* out of range/,
    );
  });

  test('gaps between tensors are tolerated', () => {
    const data = new Uint8Array(12);
    const { tensors } = readSafetensors(
      writeCrafted(craft({ x: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, data)),
    );
    assert.deepEqual(tensors.get('x')!.shape, [1]);
  });
});

describe('safetensors files written by Python (tests/fixtures/make_golden.py)', () => {
  test('dtypes.safetensors: every dtype decodes to the values Python wrote', () => {
    const file = path.join(GOLDEN, 'dtypes.safetensors');
    const { tensors, metadata } = readSafetensors(file);
    assert.equal(metadata.format, 'pt');
    const t = (n: string) => tensors.get(n)!;
    assert.deepEqual(t('f32').shape, [2, 3]);
    assert.deepEqual(Array.from(t('f32').data as Float32Array), [
      1.5,
      -2.25,
      Math.fround(3e-39),
      Infinity,
      -0,
      Math.fround(0.1),
    ]);
    assert.deepEqual(Array.from(t('f64').data as Float64Array), [1 / 3, -1e300, 5e-324]);
    assert.deepEqual(Array.from(t('i64').data as BigInt64Array), [0n, -1n, 2n ** 53n + 1n, -(2n ** 62n)]);
    assert.deepEqual(Array.from(t('i32').data as Int32Array), [0, -1, 2 ** 31 - 1, -(2 ** 31)]);
    assert.deepEqual(Array.from(t('u8').data as Uint8Array), [0, 1, 127, 255, 7]);
    assert.equal(t('bool').dtype, 'BOOL');
    assert.deepEqual(Array.from(t('bool').data as Uint8Array), [1, 0, 1]);
    assert.deepEqual(t('scalar').shape, []);
    assert.deepEqual(t('empty').shape, [0, 3]);
    assert.equal(t('empty').data.length, 0);

    const f = readSafetensorsF32(file).tensors;
    const f16 = Array.from(f.get('f16')!.data);
    // 0, -0, 1, -2.5, max half, min normal half, min subnormal half, ±inf, 0.1 rounded to half, NaN
    assert.deepEqual(f16.slice(0, 9), [0, -0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, Infinity, -Infinity]);
    assert.equal(f16[9], Math.fround(0.0999755859375));
    assert.ok(Number.isNaN(f16[10]));
    const bf16 = Array.from(f.get('bf16')!.data);
    // bfloat16 keeps float32's range: 65504 rounds to 65536, 3e38 stays finite, 6e-8 stays normal.
    assert.deepEqual(bf16.slice(0, 5), [0, -0, 1, -2.5, 65536]);
    assert.ok(Math.abs(bf16[5] / 6.103515625e-5 - 1) < 2 ** -8);
    assert.ok(Math.abs(bf16[6] / 2 ** -24 - 1) < 2 ** -8);
    assert.deepEqual(bf16.slice(7, 9), [Infinity, -Infinity]);
    assert.ok(Math.abs(bf16[9] - 0.1) < 0.1 * 2 ** -8);
    assert.ok(Number.isFinite(bf16[10]) && Math.abs(bf16[10] / 3e38 - 1) < 2 ** -8);
    assert.deepEqual(Array.from(f.get('i64')!.data), [0, -1, 2 ** 53, -(2 ** 62)]); // I64 → nearest float32
  });

  test('halfToFloat: every finite half round-trips through its float32 value', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = halfToFloat(h);
      const exp = (h >> 10) & 0x1f;
      if (exp === 0x1f) continue;
      assert.equal(Math.fround(x), x, `half 0x${h.toString(16)} is exactly a float32`);
    }
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0xfc00), -Infinity);
  });

  test('tiny-gpt2/model.safetensors: Hugging Face names and shapes, config.json agrees', () => {
    const dir = path.join(GOLDEN, 'tiny-gpt2');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const { vocab_size: V, n_positions: P, n_embd: C, n_layer: L } = config;
    assert.deepEqual([V, P, C, config.n_head, L], [61, 16, 32, 4, 2]);
    assert.equal(config.activation_function, 'gelu_new');
    const { tensors, metadata } = readSafetensorsF32(path.join(dir, 'model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    const want: Record<string, number[]> = {
      'transformer.wte.weight': [V, C],
      'transformer.wpe.weight': [P, C],
      'transformer.ln_f.weight': [C],
      'transformer.ln_f.bias': [C],
    };
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}.`;
      Object.assign(want, {
        [p + 'ln_1.weight']: [C],
        [p + 'ln_1.bias']: [C],
        [p + 'ln_2.weight']: [C],
        [p + 'ln_2.bias']: [C],
        [p + 'attn.c_attn.weight']: [C, 3 * C],
        [p + 'attn.c_attn.bias']: [3 * C],
        [p + 'attn.c_proj.weight']: [C, C],
        [p + 'attn.c_proj.bias']: [C],
        [p + 'mlp.c_fc.weight']: [C, 4 * C],
        [p + 'mlp.c_fc.bias']: [4 * C],
        [p + 'mlp.c_proj.weight']: [4 * C, C],
        [p + 'mlp.c_proj.bias']: [C],
      });
    }
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(want).sort());
    for (const [name, shape] of Object.entries(want)) assert.deepEqual(tensors.get(name)!.shape, shape, name);
  });

  test('tiny-gpt2/golden*.safetensors: inputs, outputs, a grad and an AdamW result per parameter', () => {
    const dir = path.join(GOLDEN, 'tiny-gpt2');
    const params = [...readSafetensors(path.join(dir, 'model.safetensors')).tensors.keys()];
    const { tensors: g } = readSafetensors(path.join(dir, 'golden.safetensors'));
    assert.equal(g.get('input_ids')!.dtype, 'I32');
    assert.deepEqual(g.get('input_ids')!.shape, [3, 12]);
    assert.ok(Array.from(g.get('targets')!.data as Int32Array).includes(-100));
    assert.deepEqual(g.get('logits')!.shape, [3, 12, 61]);
    assert.deepEqual(g.get('loss')!.shape, [1]);
    const gradNorm = (g.get('grad_norm')!.data as Float32Array)[0];
    assert.ok(gradNorm > 1, 'clipping is active in the fixture');
    for (const p of params) {
      assert.ok(g.has(`grad.${p}`), `grad.${p}`);
      assert.ok(g.has(`after_adamw.${p}`), `after_adamw.${p}`);
    }
    // grad_norm is the global L2 norm of the saved (unclipped) grads.
    let sq = 0;
    for (const p of params) for (const x of g.get(`grad.${p}`)!.data as Float32Array) sq += x * x;
    assert.ok(Math.abs(Math.sqrt(sq) - gradNorm) < 1e-5 * gradNorm);

    const { tensors: r } = readSafetensors(path.join(dir, 'golden_reward.safetensors'));
    assert.deepEqual(r.get('score.weight')!.shape, [1, 32]);
    assert.deepEqual(r.get('grad.score.weight')!.shape, [1, 32]);
    assert.deepEqual(r.get('reward')!.shape, [3]);
    for (const p of params) assert.ok(r.has(`reward_grad.${p}`), `reward_grad.${p}`);
  });
});
