// Policy weights on the wire: the model's tensors as safetensors bytes (the layout and names of
// model.safetensors), so ReST can hand each improved policy to the server that samples its next Grow.

import { createHash } from 'node:crypto';
import type { Parameter } from '../engine/tensor.js';
import type { CausalLM } from '../model/causal-lm.js';
import { effectiveData } from '../model/lora.js';
import { parseSafetensors, toFloat32 } from '../model/safetensors.js';

/** The model's parameters as safetensors bytes (float32, little-endian, 8-byte aligned data). */
export function weightsToSafetensors(model: CausalLM): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const p of model.params) {
    header[p.name] = { dtype: 'F32', shape: [...p.shape], data_offsets: [offset, offset + p.data.byteLength] };
    offset += p.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const p of model.params) {
    // With LoRA, the weights the adapted model computes with (the server has no adapters).
    const d = effectiveData(model, p);
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * Overwrites the model's weights with safetensors bytes of a model of the same configuration.
 * Everything is checked before anything is written, so a bad upload leaves the model as it was.
 */
export function loadWeightsInto(model: CausalLM, bytes: Uint8Array): void {
  const { tensors } = parseSafetensors(bytes, 'uploaded weights');
  const staged: { data: Float32Array; target: Parameter }[] = [];
  for (const p of model.params) {
    const t = tensors.get(p.name);
    if (!t) throw new Error(`uploaded weights have no tensor "${p.name}"; send every parameter of the served model`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new Error(
        `uploaded tensor "${p.name}" has shape [${t.shape.join(', ')}] but the served model's is ` +
          `[${p.shape.join(', ')}]; the models differ in configuration`,
      );
    }
    staged.push({ data: toFloat32(t), target: p });
  }
  const known = new Set(model.params.map((p) => p.name));
  const extra = [...tensors.keys()].filter((k) => !known.has(k));
  if (extra.length)
    throw new Error(`uploaded weights have tensors the served model lacks: ${extra.slice(0, 5).join(', ')}`);
  // NOTE: set() writes into the existing arrays, which worker threads share; replacing them would not reach the
  // workers.
  // The version bump makes the decode weights (engine/decode-weights.ts) copy the new values.
  for (const s of staged) {
    s.target.data.set(s.data);
    s.target.version++;
  }
}

/** A short hash of the model's weights: the server's system_fingerprint. */
export function weightsFingerprint(model: CausalLM): string {
  const h = createHash('sha256');
  for (const p of model.params) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return `rlhf-${h.digest('hex').slice(0, 12)}`;
}
