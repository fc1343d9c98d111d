# PyTorch peer for `npx rlhf bench`: the same small GPT, trained and sampled the way PyTorch users would.
#
# Run: /usr/bin/python3 bench/torch_bench.py [--threads N] [--steps 20] [--warmup 3] [--sample-runs 3]
# Info goes to stderr; the LAST stdout line is one JSON object (the bench command parses it):
#   {"torch_version", "threads", "blas", "train_tokens_per_s", "sample_tokens_per_s", "peak_rss_mb"}
#
# Model (must match the TypeScript side): vocab 512, context 128, d_model 128, 4 heads, 4 layers,
# pre-LayerNorm GPT-2 blocks, GELU tanh, tied embeddings, no dropout; batch 16, random tokens.
# Training step = forward + cross-entropy + backward + AdamW step. Sampling = batch 16, a 1-token
# prompt, 127 new tokens, multinomial at temperature 1, with a KV cache, under torch.no_grad().

import argparse
import ctypes
import json
import math
import os
import re
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench_env import openblas_coretype  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch peer for `rlhf bench`; prints one JSON line last.")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (default: all CPUs)")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed training steps (and one untimed sampling run)")
    ap.add_argument("--sample-runs", type=int, default=3, help="timed sampling runs of 16 x 127 tokens")
    ap.add_argument("--no-coretype", action="store_true",
                    help="leave OPENBLAS_CORETYPE unset (OpenBLAS's own CPU detection)")
    args = ap.parse_args()
    for name in ("threads", "steps", "sample_runs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        ap.error(f"--warmup must be 0 or more, got {args.warmup}")
    return args


ARGS = parse_args()
# NOTE: OpenBLAS sizes its own thread pool from these at load time, outside torch.set_num_threads:
# set them before importing torch, or --threads 1 would still run matrix products on every core.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# NOTE: OpenBLAS 0.3.21 (Debian 12) does not know recent CPU models (e.g. family 6 model 207, shown as
# "Intel(R) Xeon(R) Processor") and falls back to its generic "Prescott" SSE3 kernels: ~20 instead of
# ~110 GFLOP/s a core. Name the kernel family from the CPU flags unless the caller chose one; the
# TypeScript engine's OpenBLAS needs the same, or the comparison measures a misdetection.
if not ARGS.no_coretype and "OPENBLAS_CORETYPE" not in os.environ and openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = openblas_coretype()
# NOTE: torch's OpenMP workers spin-wait after each parallel region while OpenBLAS's own pthreads want
# the same cores. With 2 threads on 2 busy cores that fight cost 10-50x here (train 600-950 tok/s,
# sampling ~100 tok/s); passive waiting keeps PyTorch at its normal speed. Callers may override it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VOCAB, CTX, D, NH, NL, BATCH = 512, 128, 128, 4, 4, 16


def info(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- model ----

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D)
        self.c_attn = nn.Linear(D, 3 * D)
        self.c_proj = nn.Linear(D, D)
        self.ln_2 = nn.LayerNorm(D)
        self.c_fc = nn.Linear(D, 4 * D)
        self.mlp_proj = nn.Linear(4 * D, D)

    def attend(self, q, k, v, causal):
        # q (B, nh, Tq, hs), k/v (B, nh, Tk, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
        if causal:
            t = q.size(-2)
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            att = att.masked_fill(mask, float("-inf"))
        return att.softmax(dim=-1) @ v

    def forward(self, x, cache=None):
        """x (B, T, C). With cache (a dict per layer), appends this step's k, v and attends to all of them."""
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = (z.view(b, t, NH, D // NH).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        causal = True
        if cache is not None:
            if "k" in cache:
                # NOTE: decoding feeds one new token; it may see every cached position, so no mask.
                assert t == 1, "with a filled cache, feed one token at a time"
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
                causal = False
            cache["k"], cache["v"] = k, v
        y = self.attend(q, k, v, causal)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.wpe = nn.Embedding(CTX, D)
        self.h = nn.ModuleList([Block() for _ in range(NL)])
        self.ln_f = nn.LayerNorm(D)
        for n, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, caches=None, pos0=0):
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + t))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.T  # tied lm head, (B, T, V)


# ---- measurements ----

def bench_train(model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95))
    x = torch.randint(0, VOCAB, (BATCH, CTX))
    y = torch.randint(0, VOCAB, (BATCH, CTX))

    def step():
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, VOCAB), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(ARGS.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(ARGS.steps):
        loss = step()
    dt = time.perf_counter() - t0
    tps = ARGS.steps * BATCH * CTX / dt
    info(f"train: {ARGS.steps} steps of {BATCH}x{CTX} in {dt:.2f}s = {dt / ARGS.steps * 1000:.0f} ms/step, "
         f"{tps:,.0f} tok/s (last loss {loss:.3f})")
    return tps


@torch.no_grad()
def sample(model, new_tokens):
    idx = torch.randint(0, VOCAB, (BATCH, 1))
    caches = [{} for _ in range(NL)]
    logits = model(idx, caches, 0)[:, -1, :]
    out = [idx]
    for i in range(new_tokens):
        probs = F.softmax(logits / 1.0, dim=-1)  # temperature 1
        nxt = torch.multinomial(probs, num_samples=1)  # (B, 1)
        out.append(nxt)
        if i + 1 < new_tokens:
            logits = model(nxt, caches, i + 1)[:, -1, :]
    return torch.cat(out, dim=1)


def bench_sample(model):
    model.eval()
    new = CTX - 1
    sample(model, new)  # warm-up
    t0 = time.perf_counter()
    for _ in range(ARGS.sample_runs):
        seq = sample(model, new)
    dt = time.perf_counter() - t0
    assert seq.shape == (BATCH, CTX)
    tps = ARGS.sample_runs * BATCH * new / dt
    info(f"sample: {ARGS.sample_runs} runs of {BATCH}x{new} new tokens in {dt:.2f}s = {tps:,.0f} tok/s")
    return tps


def openblas_corename(path):
    """The kernel family OpenBLAS chose at load time (it is already loaded: dlopen returns it)."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "?"


def blas_description():
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas_info = m.group(1) if m else "unknown"
    # BLAS_INFO=generic on Debian means "whatever libblas.so.3 points to": look at what is mapped.
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    openblas = [lib for lib in libs if "libopenblas" in os.path.basename(lib).lower()]
    if not openblas:
        return f"BLAS_INFO={blas_info}; loaded: {', '.join(map(os.path.basename, libs)) or 'none'}; openblas=no"
    return (f"BLAS_INFO={blas_info}; loaded: {os.path.basename(openblas[0])}; openblas=yes; "
            f"core={openblas_corename(openblas[0])}")


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    model = GPT()
    n_params = sum(p.numel() for p in model.parameters())
    info(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {n_params:,} parameters, "
         f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work skews the numbers)")
    info("env: " + " ".join(f"{v}={os.environ.get(v, '')}" for v in
                            ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")))
    train_tps = bench_train(model)
    sample_tps = bench_sample(model)
    blas = blas_description()  # after the runs, so the BLAS library is surely loaded
    info(blas)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(json.dumps({
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "train_tokens_per_s": round(train_tps, 1),
        "sample_tokens_per_s": round(sample_tps, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
