# 16-bit safetensors weights against PyTorch, with nothing but PyTorch (no safetensors package).
#
#   write DIR   writes DIR/model.safetensors as PyTorch stores 16-bit weights: a bfloat16 and a float16
#               tensor of random and special values, their bytes taken by hand
#               (.view(torch.int16).numpy().tobytes()), plus what torch's .float() makes of each, as F32
#               tensors "ref.bf16" and "ref.f16". A reader's float32 must equal those bit for bit.
#   check F32_DIR BF16_DIR F16_DIR
#               reads the tensors rlhf wrote from the same float32 values in three dtypes and prints
#               {"bf16": mismatches, "f16": mismatches}: 16-bit patterns that differ from torch's .to(dtype).
#
# Used by src/model/weights.test.ts (skipped where PyTorch is not installed).
# Run: /usr/bin/python3 tests/interop/torch_half_safetensors.py write DIR
import json
import os
import struct
import sys

import torch

torch.set_num_threads(1)
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def write(d):
    torch.manual_seed(0)
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 1e-3, 3e38, 1e-40, 65504.0, 70000.0, float("inf"),
                            float("-inf"), float("nan"), 0.1, 1 + 2 ** -8, 6e-8])
    x = torch.cat([torch.randn(3000) * 10.0 ** torch.randint(-6, 4, (3000,)).float(), special]).reshape(3, -1)
    tensors = {}
    for name, dt, code in (("bf16", torch.bfloat16, "BF16"), ("f16", torch.float16, "F16")):
        h = x.to(dt)
        tensors[name] = (code, list(h.shape), h.view(torch.int16).numpy().tobytes())
        tensors["ref." + name] = ("F32", list(h.shape), h.float().numpy().tobytes())
    header, data, offset = {"__metadata__": {"format": "pt"}}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + data)


def read(d):
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    out = {}
    for name, info in json.loads(b[8:8 + n]).items():
        if name != "__metadata__":
            begin, end = info["data_offsets"]
            out[name] = torch.frombuffer(bytearray(b[8 + n + begin:8 + n + end]), dtype=DTYPES[info["dtype"]])
    return out


def check(f32_dir, bf16_dir, f16_dir):
    x, bf16, f16 = read(f32_dir), read(bf16_dir), read(f16_dir)
    result = {}
    for key, got, dt in (("bf16", bf16, torch.bfloat16), ("f16", f16, torch.float16)):
        bad = 0
        for name, t in x.items():
            want = t.to(dt)
            both_nan = torch.isnan(want) & torch.isnan(got[name])
            bad += int(((want.view(torch.int16) != got[name].view(torch.int16)) & ~both_nan).sum())
        result[key] = bad
    print(json.dumps(result))


if __name__ == "__main__":
    write(sys.argv[2]) if sys.argv[1] == "write" else check(*sys.argv[2:5])
