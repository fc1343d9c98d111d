# An independent PyTorch implementation of Hugging Face's LlamaForCausalLM, Qwen2ForCausalLM and
# Qwen3ForCausalLM (written from transformers' modeling_llama/qwen2/qwen3.py and modeling_rope_utils.py
# semantics; it uses neither transformers nor the safetensors package). It reads checkpoint directories
# (config.json + model.safetensors, Hugging Face's layout), computes in float64, and answers JSON on stdin,
# one answer per request (one process for many models: importing torch takes seconds):
#
#   {"requests": [{"dir": D, "ids": [[...], ...]}, ...]}   -> {"answers": [{"logits": [B][T][V]}, ...]}
#
# A request with "targets" (same shape as ids, -100 where no loss is wanted; the loss is the mean over the
# others) is also answered with {"loss": x, "grads": {tensor name: flat list}}.
# Used by src/model/llama-interop.test.ts (skipped where PyTorch is not installed), and imported by
# src/export/hf-layout-check.py to run Llama-family exports.
#
# Run: echo '{"requests": [{"dir": "DIR", "ids": [[1, 2, 3]]}]}' | python3 tests/interop/torch_llama.py
import json
import math
import sys

import torch
from torch_logits import read_safetensors  # the same directory: float64 tensors by name

torch.set_num_threads(1)

class Config:
    """The fields of LlamaConfig / Qwen2Config / Qwen3Config the forward reads, with their defaults."""

    def __init__(self, j):
        self.model_type = j["model_type"]
        assert self.model_type in ("llama", "qwen2", "qwen3"), self.model_type
        self.hidden = j["hidden_size"]
        self.layers = j["num_hidden_layers"]
        self.heads = j["num_attention_heads"]
        self.kv_heads = j.get("num_key_value_heads") or self.heads
        default_head_dim = 128 if self.model_type == "qwen3" else self.hidden // self.heads
        self.head_dim = j.get("head_dim") or default_head_dim
        self.eps = j.get("rms_norm_eps", 1e-6)
        self.theta = j.get("rope_theta", 10000.0)
        self.rope_scaling = j.get("rope_scaling")
        self.tied = j.get("tie_word_embeddings", False)
        assert j.get("hidden_act", "silu") == "silu"
        if self.model_type == "qwen2":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        else:
            self.qkv_bias = self.o_bias = j.get("attention_bias", False)
            self.mlp_bias = j.get("mlp_bias", False) if self.model_type == "llama" else False


def inverse_frequencies(cfg):
    """float32, as transformers computes them (default, linear and llama3 rope types)."""
    dim = cfg.head_dim
    inv = 1.0 / (cfg.theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.rope_scaling
    kind = (rs or {}).get("rope_type", (rs or {}).get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / rs["factor"]
    assert kind == "llama3", kind
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    out = []
    for f in inv.tolist():
        f = torch.tensor(f, dtype=torch.float32)
        wavelen = 2 * math.pi / f
        if wavelen < old_ctx / hi:
            out.append(f)
        elif wavelen > old_ctx / lo:
            out.append(f / factor)
        else:
            smooth = (old_ctx / wavelen - lo) / (hi - lo)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.stack(out).float()


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def linear(P, name, x, bias):
    y = x @ P[name + ".weight"].T  # nn.Linear: weight (out, in)
    return y + P[name + ".bias"] if bias else y


def hidden(P, cfg, ids):
    """The final hidden states (B, T, C), after model.norm: what lm_head, or a reward model's score, reads."""
    b, t = ids.shape
    nh, nkv, hd = cfg.heads, cfg.kv_heads, cfg.head_dim
    pos = torch.arange(t, dtype=torch.float32)
    freqs = torch.outer(pos, inverse_frequencies(cfg))  # (T, hd/2), float32 as in transformers
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().double(), emb.sin().double()  # (T, hd)
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
    x = P["model.embed_tokens.weight"][ids]
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        h = rms_norm(x, P[p + "input_layernorm.weight"], cfg.eps)
        q = linear(P, p + "self_attn.q_proj", h, cfg.qkv_bias).view(b, t, nh, hd)
        k = linear(P, p + "self_attn.k_proj", h, cfg.qkv_bias).view(b, t, nkv, hd)
        v = linear(P, p + "self_attn.v_proj", h, cfg.qkv_bias).view(b, t, nkv, hd)
        if cfg.model_type == "qwen3":  # RMSNorm over each head's values, before RoPE
            q = rms_norm(q, P[p + "self_attn.q_norm.weight"], cfg.eps)
            k = rms_norm(k, P[p + "self_attn.k_norm.weight"], cfg.eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)  # grouped-query attention: kv head j serves q heads j·g …
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = (q @ k.transpose(-2, -1)) * hd ** -0.5
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, nh * hd)
        x = x + linear(P, p + "self_attn.o_proj", y, cfg.o_bias)
        h = rms_norm(x, P[p + "post_attention_layernorm.weight"], cfg.eps)
        gate = linear(P, p + "mlp.gate_proj", h, cfg.mlp_bias)
        up = linear(P, p + "mlp.up_proj", h, cfg.mlp_bias)
        x = x + linear(P, p + "mlp.down_proj", torch.nn.functional.silu(gate) * up, cfg.mlp_bias)
    return rms_norm(x, P["model.norm.weight"], cfg.eps)


def logits(P, cfg, ids):
    head = P["model.embed_tokens.weight"] if cfg.tied else P["lm_head.weight"]
    return hidden(P, cfg, ids) @ head.T


def answer(req):
    d = req["dir"]
    cfg = Config(json.load(open(f"{d}/config.json")))
    P = read_safetensors(f"{d}/model.safetensors")
    ids = torch.tensor(req["ids"], dtype=torch.long)
    if "targets" not in req:
        with torch.no_grad():
            return {"logits": logits(P, cfg, ids).tolist()}
    for t in P.values():
        t.requires_grad_(True)
    out = logits(P, cfg, ids)
    targets = torch.tensor(req["targets"], dtype=torch.long)
    loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    grads = {k: t.grad.reshape(-1).tolist() for k, t in P.items() if t.grad is not None}
    return {"logits": out.tolist(), "loss": loss.item(), "grads": grads}


def main():
    print(json.dumps({"answers": [answer(r) for r in json.load(sys.stdin)["requests"]]}))


if __name__ == "__main__":
    main()
