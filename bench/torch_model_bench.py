# PyTorch peer for `npx rlhf bench --model DIR`: the checkpoint's architecture (GPT-2, Llama, Qwen2, Qwen3)
# at the checkpoint's shape, written the way a PyTorch user of torch 1.13 would (Hugging Face's eager
# attention: matmul, mask, softmax), trained and sampled on the same shapes as the TypeScript side.
#
# Run: python3 bench/torch_model_bench.py --config DIR/config.json [--batch 4] [--seq 256] [--steps 3]
#      [--warmup 1] [--lora-rank 16] [--lora-targets q_proj,v_proj] [--sample-batch 4] [--prompt 16]
#      [--new-tokens 64] [--threads N] [--skip-full]
# Info goes to stderr; the LAST stdout line is one JSON object:
#   {"torch_version", "threads", "parameters", "train_tokens_per_s", "lora_train_tokens_per_s",
#    "sample_tokens_per_s", "score_tokens_per_s", "peak_rss_mb"}
#
# Weights are random (speed does not depend on them); the data are random token ids, as on our side.
# A training step is forward + cross-entropy + backward + AdamW step; LoRA freezes the base weights
# (requires_grad False) and trains rank-r adapters on the target projections, as PEFT does.

import argparse
import copy
import json
import math
import os
import resource
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch peer for `rlhf bench --model`; prints one JSON line last.")
    ap.add_argument("--config", required=True, help="a Hugging Face config.json (gpt2, llama, qwen2, qwen3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--lora-rank", type=int, default=16)
    ap.add_argument("--lora-targets", default="")
    ap.add_argument("--sample-batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--skip-full", action="store_true", help="time LoRA training only (full training does not fit)")
    return ap.parse_args()


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# NOTE: the same CPU-family pinning and passive OpenMP waiting as bench/torch_bench.py (see the notes
# there): without them OpenBLAS may pick generic kernels and OpenMP spin-waits fight its threads.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench_env import openblas_coretype  # noqa: E402

if "OPENBLAS_CORETYPE" not in os.environ and openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = openblas_coretype()
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def info(msg):
    print(msg, file=sys.stderr, flush=True)


def causal_attend(q, k, v, causal):
    """q (B, nh, Tq, d), k/v (B, nh, Tk, d): softmax(q·kᵀ/√d + mask)·v."""
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
    if causal:
        t = q.size(-2)
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    return att.softmax(dim=-1) @ v


def with_cache(cache, k, v):
    """Appends this step's keys and values to a layer's cache; returns all of them and whether to mask."""
    if cache is None:
        return k, v, True
    causal = "k" not in cache
    if not causal:
        k = torch.cat([cache["k"], k], dim=2)
        v = torch.cat([cache["v"], v], dim=2)
    cache["k"], cache["v"] = k, v
    return k, v, causal


# ---- GPT-2 ----

class GPT2Block(nn.Module):
    def __init__(self, c, nh, eps):
        super().__init__()
        self.nh = nh
        self.ln_1, self.ln_2 = nn.LayerNorm(c, eps=eps), nn.LayerNorm(c, eps=eps)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.nh, c // self.nh).transpose(1, 2) for z in (q, k, v))
        k, v, causal = with_cache(cache, k, v)
        x = x + self.c_proj(causal_attend(q, k, v, causal).transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg.get("layer_norm_epsilon", 1e-5)
        self.vocab = cfg["vocab_size"]
        self.wte = nn.Embedding(self.vocab, c)
        self.wpe = nn.Embedding(cfg.get("n_positions", cfg.get("n_ctx")), c)
        self.h = nn.ModuleList([GPT2Block(c, cfg["n_head"], eps) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(c, eps=eps)

    def hidden(self, idx, caches=None, pos0=0):
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + idx.size(1)))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x)

    def forward(self, idx, caches=None, pos0=0):
        return self.hidden(idx, caches, pos0) @ self.wte.weight.T


# ---- Llama, Qwen2, Qwen3 ----

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, hd, positions):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = (old / wavelen - lo) / (hi - lo)
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        mid = (wavelen <= old / lo) & (wavelen >= old / hi)
        inv = torch.where(mid, (1 - smooth) * scaled / factor + smooth * scaled, scaled)
    freqs = torch.outer(torch.arange(positions, dtype=torch.float32), inv)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.size(-1) // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, cfg, family):
        super().__init__()
        c, nh = cfg["hidden_size"], cfg["num_attention_heads"]
        self.nh, self.nkv = nh, cfg.get("num_key_value_heads") or nh
        self.hd = cfg.get("head_dim") or c // nh
        eps = cfg.get("rms_norm_eps", 1e-6)
        qkv_bias = True if family == "qwen2" else bool(cfg.get("attention_bias", False))
        o_bias = bool(cfg.get("attention_bias", False)) if family == "llama" else False
        self.q_proj = nn.Linear(c, nh * self.hd, bias=qkv_bias)
        self.k_proj = nn.Linear(c, self.nkv * self.hd, bias=qkv_bias)
        self.v_proj = nn.Linear(c, self.nkv * self.hd, bias=qkv_bias)
        self.o_proj = nn.Linear(nh * self.hd, c, bias=o_bias)
        self.qk_norm = family == "qwen3"
        if self.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(self.hd, eps), RMSNorm(self.hd, eps)
        inter, mlp_bias = cfg["intermediate_size"], bool(cfg.get("mlp_bias", False))
        self.gate_proj = nn.Linear(c, inter, bias=mlp_bias)
        self.up_proj = nn.Linear(c, inter, bias=mlp_bias)
        self.down_proj = nn.Linear(inter, c, bias=mlp_bias)
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(c, eps), RMSNorm(c, eps)

    def forward(self, x, cos, sin, cache=None):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.nh, self.hd)
        k = self.k_proj(h).view(b, t, self.nkv, self.hd)
        v = self.v_proj(h).view(b, t, self.nkv, self.hd).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v, causal = with_cache(cache, k, v)
        rep = self.nh // self.nkv
        kr, vr = (z.repeat_interleave(rep, dim=1) if rep > 1 else z for z in (k, v))
        a = causal_attend(q, kr, vr, causal).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        x = x + self.o_proj(a)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg, family):
        super().__init__()
        c = cfg["hidden_size"]
        self.cfg, self.vocab = cfg, cfg["vocab_size"]
        self.embed_tokens = nn.Embedding(self.vocab, c)
        self.layers = nn.ModuleList([LlamaLayer(cfg, family) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(c, cfg.get("rms_norm_eps", 1e-6))
        self.tied = cfg.get("tie_word_embeddings", False)  # LlamaConfig, Qwen2Config, Qwen3Config default
        self.lm_head = None if self.tied else nn.Linear(c, self.vocab, bias=False)
        self.cos, self.sin = rope_tables(cfg, self.layers[0].hd, cfg.get("max_position_embeddings", 2048))

    def hidden(self, idx, caches=None, pos0=0):
        t = idx.size(1)
        x = self.embed_tokens(idx)
        cos, sin = self.cos[pos0:pos0 + t].to(x.dtype), self.sin[pos0:pos0 + t].to(x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i])
        return self.norm(x)

    def forward(self, idx, caches=None, pos0=0):
        h = self.hidden(idx, caches, pos0)
        return h @ self.embed_tokens.weight.T if self.tied else self.lm_head(h)


def build(cfg):
    family = cfg.get("model_type", "gpt2")
    if family == "gpt2":
        return GPT2(cfg), ["c_attn"]
    if family in ("llama", "qwen2", "qwen3"):
        return Llama(cfg, family), ["q_proj", "v_proj"]
    raise SystemExit(f"{ARGS.config}: model_type {family!r} is not one this benchmark builds")


# ---- LoRA, as PEFT applies it ----

class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scale


def add_lora(model, targets, r):
    for p in model.parameters():
        p.requires_grad_(False)
    for name, mod in list(model.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.Linear) and child_name in targets:
                setattr(mod, child_name, LoRALinear(child, r, 2 * r))


# ---- measurements ----

def bench_train(model, label):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    x = torch.randint(0, model.vocab, (ARGS.batch, ARGS.seq))
    y = torch.randint(0, model.vocab, (ARGS.batch, ARGS.seq))

    def step():
        loss = F.cross_entropy(model(x).view(-1, model.vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(ARGS.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(ARGS.steps):
        step()
    dt = time.perf_counter() - t0
    tps = ARGS.steps * ARGS.batch * ARGS.seq / dt
    info(f"{label}: {ARGS.steps} steps of {ARGS.batch}x{ARGS.seq} in {dt:.1f}s = {tps:,.1f} tok/s "
         f"({sum(p.numel() for p in params):,} trained parameters)")
    return tps


@torch.no_grad()
def bench_sample(model, n_layers, dtype=torch.float32):
    def run():
        idx = torch.randint(0, model.vocab, (ARGS.sample_batch, ARGS.prompt))
        caches = [{} for _ in range(n_layers)]
        logits = model(idx, caches, 0)[:, -1, :]
        for i in range(ARGS.new_tokens):
            nxt = torch.multinomial(F.softmax(logits.float(), dim=-1), num_samples=1)
            if i + 1 < ARGS.new_tokens:
                logits = model(nxt, caches, ARGS.prompt + i)[:, -1, :]

    run()
    t0 = time.perf_counter()
    run()
    dt = time.perf_counter() - t0
    tps = ARGS.sample_batch * ARGS.new_tokens / dt
    info(f"sample ({str(dtype).replace('torch.', '')}): {ARGS.sample_batch}x{ARGS.new_tokens} new tokens after a "
         f"{ARGS.prompt}-token prompt in {dt:.1f}s = {tps:,.1f} tok/s")
    return tps


@torch.no_grad()
def bench_score(model):
    x = torch.randint(0, model.vocab, (ARGS.batch, ARGS.seq))
    model.hidden(x)
    t0 = time.perf_counter()
    model.hidden(x)
    dt = time.perf_counter() - t0
    tps = ARGS.batch * ARGS.seq / dt
    info(f"score: a forward of {ARGS.batch}x{ARGS.seq} in {dt:.2f}s = {tps:,.1f} tok/s")
    return tps


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    with open(ARGS.config) as f:
        cfg = json.load(f)
    model, default_targets = build(cfg)
    for p in model.parameters():
        if p.dim() >= 2:
            nn.init.normal_(p, std=0.02)
    n_params = sum(p.numel() for p in model.parameters())
    n_layers = len(model.h) if isinstance(model, GPT2) else len(model.layers)
    info(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cfg.get('model_type', 'gpt2')}, "
         f"{n_params:,} parameters")
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "parameters": n_params}
    out["sample_tokens_per_s"] = round(bench_sample(model, n_layers), 1)
    # The same sampling with every weight in bfloat16 (what `rlhf sample --dtype bfloat16` is compared with).
    half = copy.deepcopy(model).to(torch.bfloat16)
    out["sample_bf16_tokens_per_s"] = round(bench_sample(half, n_layers, torch.bfloat16), 1)
    del half
    out["score_tokens_per_s"] = round(bench_score(model), 1)
    if not ARGS.skip_full:
        out["train_tokens_per_s"] = round(bench_train(model, "train (full)"), 1)
    if ARGS.lora_rank > 0:
        targets = [t for t in ARGS.lora_targets.split(",") if t] or default_targets
        add_lora(model, set(targets), ARGS.lora_rank)
        out["lora_train_tokens_per_s"] = round(bench_train(model, f"train (LoRA r={ARGS.lora_rank})"), 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
