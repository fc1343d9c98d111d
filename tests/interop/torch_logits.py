# Reads a checkpoint directory written by rlhf (model.safetensors + config.json) with nothing but
# PyTorch and the safetensors layout, runs GPT-2 exactly as Hugging Face's GPT2LMHeadModel does, and
# prints the logits for the token ids given as JSON on stdin: {"ids": [[...], ...]} → {"logits": ...}.
# Used by src/model/interop.test.ts (skipped where PyTorch is not installed).
#
# Run: echo '{"ids": [[1, 2, 3]]}' | /usr/bin/python3 tests/interop/torch_logits.py DIR
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if end > begin else torch.zeros(0)
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def logits(P, cfg, ids):
    C, NH, NL, eps = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg.get("layer_norm_epsilon", 1e-5)
    b, t = ids.shape
    x = P["transformer.wte.weight"][ids] + P["transformer.wpe.weight"][:t]
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
    hs = C // NH
    for i in range(NL):
        p = f"transformer.h.{i}."
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], eps=eps)
        q, k, v = (h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (z.view(b, t, NH, hs).transpose(1, 2) for z in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, C)
        x = x + (y @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"])
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], eps=eps)
        x = x + (gelu_new(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"]) @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), P["transformer.ln_f.weight"], P["transformer.ln_f.bias"], eps=eps)
    return x @ P["transformer.wte.weight"].T


def main():
    d = sys.argv[1]
    cfg = json.load(open(f"{d}/config.json"))
    P = read_safetensors(f"{d}/model.safetensors")
    ids = torch.tensor(json.load(sys.stdin)["ids"], dtype=torch.long)
    print(json.dumps({"logits": logits(P, cfg, ids).tolist()}))


if __name__ == "__main__":
    main()
