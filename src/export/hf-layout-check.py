# Checks a directory written by `rlhf export model` the way Hugging Face loaders see it, with only
# PyTorch (no transformers or safetensors package needed), and runs the model:
#
#   - config.json: the GPT2Config fields, and for a reward model GPT2ForSequenceClassification
#     with one label and a pad token that is not <|endoftext|>;
#   - model.safetensors (or the shards model.safetensors.index.json lists, with its total_size):
#     exactly GPT-2's state-dict names and shapes (GPT2LMHeadModel with its tied lm_head left out,
#     or GPT2ForSequenceClassification's transformer.* + score.weight), every tensor in config.json's
#     torch_dtype;
#   - tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json,
#     added_tokens.json and generation_config.json agree with each other and with config.json;
#   - the chat template renders as transformers renders it (jinja2, trim_blocks, lstrip_blocks),
#     when jinja2 is installed.
#
# stdin: {"ids": [[...], ...], "chat": [{"messages": [...], "add_generation_prompt": bool}, ...]}
# stdout: {"errors": [...], "kind", "logits" (policy, (B, T, V)) or "scores" (reward: the score at
#          the last non-pad token, as GPT2ForSequenceClassification reads it), "chat": [...]}
# Used by hf-model.test.ts; run: /usr/bin/python3 src/export/hf-layout-check.py DIR < input.json
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
TORCH_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).to(torch.float64)
        dtypes[name] = info["dtype"]
    return tensors, dtypes, header.get("__metadata__", {})


def read_weights(d, err):
    """model.safetensors, or the shards model.safetensors.index.json lists, as transformers finds them."""
    index_path = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(index_path):
        files = ["model.safetensors"]
    else:
        index = json.load(open(index_path))
        weight_map = index["weight_map"]
        files = sorted(set(weight_map.values()))
        if list(weight_map) != sorted(weight_map):
            err("model.safetensors.index.json: weight_map keys are not sorted, as save_pretrained writes them")
        if os.path.exists(os.path.join(d, "model.safetensors")):
            err("model.safetensors and an index both present: transformers would ignore the shards")
    tensors, dtypes, sizes = {}, {}, 0
    for name in files:
        t, dt, meta = read_safetensors(os.path.join(d, name))
        if meta.get("format") != "pt":
            err(f"{name}: __metadata__.format is {meta.get('format')!r}, transformers expects 'pt'")
        for k in t:
            if os.path.exists(index_path) and weight_map.get(k) != name:
                err(f"model.safetensors.index.json: weight_map puts {k} in {weight_map.get(k)}, it is in {name}")
            sizes += t[k].numel() * {"F32": 4, "F16": 2, "BF16": 2}[dt[k]]
        tensors.update(t)
        dtypes.update(dt)
    if os.path.exists(index_path):
        if index.get("metadata", {}).get("total_size") != sizes:
            err(f"model.safetensors.index.json: metadata.total_size is {index.get('metadata')}, the shards hold {sizes}")
        for k in sorted(set(weight_map) - set(tensors)):
            err(f"model.safetensors.index.json: lists {k}, which no shard holds")
    return tensors, dtypes


def expected_shapes(cfg, reward):
    C, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    inner = cfg.get("n_inner") or 4 * C
    shapes = {"transformer.wte.weight": [V, C], "transformer.wpe.weight": [P, C],
              "transformer.ln_f.weight": [C], "transformer.ln_f.bias": [C]}
    for i in range(L):
        p = f"transformer.h.{i}."
        shapes.update({
            p + "ln_1.weight": [C], p + "ln_1.bias": [C],
            p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
            p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
            p + "ln_2.weight": [C], p + "ln_2.bias": [C],
            p + "mlp.c_fc.weight": [C, inner], p + "mlp.c_fc.bias": [inner],
            p + "mlp.c_proj.weight": [inner, C], p + "mlp.c_proj.bias": [C],
        })
    if reward:
        shapes["score.weight"] = [cfg.get("num_labels", len(cfg.get("id2label", {0: 0}))), C]
    return shapes


def check(d):
    errors = []
    err = errors.append
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = (cfg.get("architectures") or [None])[0]
    reward = arch == "GPT2ForSequenceClassification"
    if arch not in ("GPT2LMHeadModel", "GPT2ForSequenceClassification"):
        err(f"config.json: architectures {cfg.get('architectures')!r}")
    for key, want in (("model_type", "gpt2"), ("activation_function", "gelu_new"), ("tie_word_embeddings", True)):
        if cfg.get(key) != want:
            err(f"config.json: {key} is {cfg.get(key)!r}, want {want!r}")
    for key in ("vocab_size", "n_embd", "n_layer", "n_head", "n_positions", "eos_token_id", "bos_token_id"):
        if not isinstance(cfg.get(key), int):
            err(f"config.json: {key} missing or not an integer")
    if cfg["n_embd"] % cfg["n_head"]:
        err("config.json: n_embd is not a multiple of n_head")
    if reward:
        if cfg.get("num_labels") != 1 or len(cfg.get("id2label", {})) != 1:
            err(f"config.json: a reward model needs num_labels 1 and one id2label entry, got {cfg.get('num_labels')!r}, {cfg.get('id2label')!r}")
        if not isinstance(cfg.get("pad_token_id"), int) or cfg["pad_token_id"] == cfg["eos_token_id"]:
            err(f"config.json: pad_token_id {cfg.get('pad_token_id')!r} must be an id other than eos_token_id")

    tensors, dtypes = read_weights(d, err)
    want = expected_shapes(cfg, reward)
    for name in sorted(set(want) - set(tensors)):
        err(f"model.safetensors: missing {name}")
    for name in sorted(set(tensors) - set(want)):
        err(f"model.safetensors: unexpected {name}")
    for name in sorted(set(want) & set(tensors)):
        if list(tensors[name].shape) != want[name]:
            err(f"model.safetensors: {name} has shape {list(tensors[name].shape)}, GPT-2 has {want[name]}")
    dt = TORCH_DTYPE.get(cfg.get("torch_dtype"))
    bad = sorted(n for n, t in dtypes.items() if t != dt)
    if bad:
        err(f"model.safetensors: {len(bad)} tensors are not {cfg.get('torch_dtype')} (e.g. {bad[0]} is {dtypes[bad[0]]})")

    tok = json.load(open(os.path.join(d, "tokenizer.json")))
    vocab = json.load(open(os.path.join(d, "vocab.json")))
    if tok["model"]["type"] != "BPE" or tok["pre_tokenizer"]["type"] != "ByteLevel":
        err("tokenizer.json: not a byte-level BPE tokenizer")
    if vocab != tok["model"]["vocab"]:
        err("vocab.json differs from tokenizer.json's model.vocab")
    merges = [l for l in open(os.path.join(d, "merges.txt"), encoding="utf-8").read().split("\n") if l and not l.startswith("#version")]
    if merges != tok["model"]["merges"]:
        err("merges.txt differs from tokenizer.json's model.merges")
    added = {t["content"]: t["id"] for t in tok["added_tokens"]}
    ids = dict(vocab, **added)
    if max(ids.values()) >= cfg["vocab_size"]:
        err(f"tokenizer: id {max(ids.values())} is outside the embedding (vocab_size {cfg['vocab_size']})")
    tc = json.load(open(os.path.join(d, "tokenizer_config.json")))
    stm = json.load(open(os.path.join(d, "special_tokens_map.json")))
    if tc.get("tokenizer_class") not in ("GPT2Tokenizer", "GPT2TokenizerFast"):
        err(f"tokenizer_config.json: tokenizer_class {tc.get('tokenizer_class')!r}")
    if tc.get("model_max_length") != cfg["n_positions"]:
        err("tokenizer_config.json: model_max_length is not n_positions")
    if ids.get(tc.get("eos_token")) != cfg["eos_token_id"]:
        err(f"tokenizer_config.json: eos_token {tc.get('eos_token')!r} does not have config.json's eos_token_id {cfg['eos_token_id']}")
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        if stm.get(key) != tc.get(key):
            err(f"special_tokens_map.json: {key} {stm.get(key)!r} differs from tokenizer_config.json's {tc.get(key)!r}")
    for sid, t in tc.get("added_tokens_decoder", {}).items():
        if added.get(t["content"]) != int(sid):
            err(f"tokenizer_config.json: added_tokens_decoder[{sid}] {t['content']!r} has id {added.get(t['content'])} in tokenizer.json")
    if reward:
        if ids.get(tc.get("pad_token")) != cfg.get("pad_token_id"):
            err(f"tokenizer_config.json: pad_token {tc.get('pad_token')!r} does not have config.json's pad_token_id")
        extra = json.load(open(os.path.join(d, "added_tokens.json")))
        if extra.get(tc.get("pad_token")) != cfg.get("pad_token_id"):
            err("added_tokens.json: the pad token is missing or has another id")
    else:
        gc = json.load(open(os.path.join(d, "generation_config.json")))
        if gc.get("eos_token_id") != cfg["eos_token_id"]:
            err("generation_config.json: eos_token_id differs from config.json")
    return cfg, tensors, tc, reward, errors


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def hidden(P, cfg, ids):
    C, NH, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    b, t = ids.shape
    x = P["transformer.wte.weight"][ids] + P["transformer.wpe.weight"][:t]
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
    hs = C // NH
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], eps=eps)
        q, k, v = (h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (z.view(b, t, NH, hs).transpose(1, 2) for z in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~mask, float("-inf")).softmax(dim=-1)
        x = x + ((att @ v).transpose(1, 2).reshape(b, t, C) @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"])
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], eps=eps)
        x = x + (gelu_new(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"]) @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"])
    return F.layer_norm(x, (C,), P["transformer.ln_f.weight"], P["transformer.ln_f.bias"], eps=eps)


def render_chat(template, items, tc):
    try:
        from jinja2 import exceptions
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        return None

    def raise_exception(message):
        raise exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    t = env.from_string(template)
    return [t.render(messages=it["messages"], add_generation_prompt=it.get("add_generation_prompt", False),
                     eos_token=tc.get("eos_token"), bos_token=tc.get("bos_token")) for it in items]


def main():
    d = sys.argv[1]
    req = json.load(sys.stdin)
    cfg, P, tc, reward, errors = check(d)
    out = {"errors": errors, "kind": "reward" if reward else "policy"}
    if not errors and req.get("ids"):
        ids = torch.tensor(req["ids"], dtype=torch.long)
        h = hidden(P, cfg, ids)
        if reward:
            # GPT2ForSequenceClassification: the score at the last token that is not padding.
            pad = cfg["pad_token_id"]
            last = ((ids != pad).long() * torch.arange(ids.shape[1])).argmax(-1)
            out["scores"] = (h @ P["score.weight"].T)[torch.arange(ids.shape[0]), last, 0].tolist()
        else:
            out["logits"] = (h @ P["transformer.wte.weight"].T).tolist()
    if req.get("chat"):
        out["chat"] = render_chat(tc["chat_template"], req["chat"], tc)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
