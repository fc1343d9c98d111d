# Reads a LoRA adapter directory written by rlhf as PEFT would (written from PEFT's source semantics;
# PEFT itself is not installed here): checks adapter_config.json and the tensor names and shapes of
# adapter_model.safetensors against the base model it names, applies the adapter to the base weights
# (GPT-2, or the Llama family) as PEFT's merge does (W += transpose(B @ A, fan_in_fan_out) · lora_alpha / r),
# and prints
# the logits for the token ids given as JSON on stdin: {"ids": [[...], ...]} → {"logits": [one per directory]}.
# Used by src/model/peft.test.ts (skipped where PyTorch is not installed).
#
# Run: echo '{"ids": [[1, 2, 3]]}' | /usr/bin/python3 tests/interop/peft_lora.py ADAPTER_DIR...
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_llama  # noqa: E402
from torch_logits import logits as gpt2_logits, read_safetensors  # noqa: E402

# PEFT's LoraConfig fields every adapter_config.json of ours has (peft/tuners/lora/config.py, peft/config.py)
REQUIRED = {
    "peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "target_modules", "fan_in_fan_out", "bias",
    "base_model_name_or_path", "inference_mode", "modules_to_save", "init_lora_weights", "use_rslora", "use_dora",
}
# The linear layers PEFT can adapt: GPT-2's Conv1D (weight (in, out)) or nn.Linear (weight (out, in)).
CONV1D = re.compile(r"^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$")
LINEAR = re.compile(r"^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)$")


def targeted(name, target_modules):
    # peft.tuners.tuners_utils.check_target_module_exists: a string is a full-match regex ("all-linear" aside),
    # a list matches a module named as an item or ending in "." + item.
    if isinstance(target_modules, str):
        return target_modules == "all-linear" or re.fullmatch(target_modules, name) is not None
    return name in target_modules or any(name.endswith("." + t) for t in target_modules)


def adapted_logits(d, ids):
    cfg = json.loads(open(f"{d}/adapter_config.json").read())
    assert list(cfg) == sorted(cfg), "PEFT writes adapter_config.json with sorted keys"
    missing = REQUIRED - set(cfg)
    assert not missing, f"adapter_config.json lacks {sorted(missing)}"
    assert cfg["peft_type"] == "LORA" and cfg["bias"] == "none" and cfg["inference_mode"] is True
    assert cfg["task_type"] in ("CAUSAL_LM", "SEQ_CLS")
    base = cfg["base_model_name_or_path"]
    base_cfg = json.load(open(f"{base}/config.json"))
    gpt2 = base_cfg.get("model_type", "gpt2") == "gpt2"
    # peft.tuners.lora.model: Conv1D needs fan_in_fan_out (weights stored (in, out)), nn.Linear must not have it.
    assert cfg["fan_in_fan_out"] is gpt2, f"fan_in_fan_out {cfg['fan_in_fan_out']} for {base_cfg.get('model_type')}"
    P = read_safetensors(f"{base}/model.safetensors")
    A = read_safetensors(f"{d}/adapter_model.safetensors")
    layer = CONV1D if gpt2 else LINEAR
    modules = [k[: -len(".weight")] for k in P if k.endswith(".weight") and layer.match(k[: -len(".weight")])]
    chosen = [m for m in modules if targeted(m, cfg["target_modules"])]
    assert chosen, "target_modules selects no module"
    r, scaling = cfg["r"], cfg["lora_alpha"] / cfg["r"]
    want = set()
    for m in chosen:
        # peft/utils/save_and_load.py: "base_model.model." + module + ".lora_A.weight", the adapter name removed
        ka, kb = f"base_model.model.{m}.lora_A.weight", f"base_model.model.{m}.lora_B.weight"
        want |= {ka, kb}
        w = P[m + ".weight"]
        fan_in, fan_out = w.shape if gpt2 else w.shape[::-1]
        assert tuple(A[ka].shape) == (r, fan_in), f"{ka}: {tuple(A[ka].shape)}"
        assert tuple(A[kb].shape) == (fan_out, r), f"{kb}: {tuple(A[kb].shape)}"
        delta = (A[kb] @ A[ka]) * scaling  # get_delta_weight: (out, in), transposed for fan_in_fan_out
        P[m + ".weight"] = w + (delta.T if gpt2 else delta)
    if cfg["task_type"] == "SEQ_CLS":
        assert cfg["modules_to_save"] == ["score"], cfg["modules_to_save"]
        want.add("base_model.model.score.weight")
    got = set(A)
    assert got == want, f"unexpected tensors {sorted(got - want)[:3]}, missing {sorted(want - got)[:3]}"
    with torch.no_grad():
        out = gpt2_logits(P, base_cfg, ids) if gpt2 else torch_llama.logits(P, torch_llama.Config(base_cfg), ids)
    return out.tolist()


def main():
    ids = torch.tensor(json.load(sys.stdin)["ids"])
    json.dump({"logits": [adapted_logits(d, ids) for d in sys.argv[1:]]}, sys.stdout)


if __name__ == "__main__":
    main()
