# Shared by the PyTorch peers of `rlhf bench` (torch_bench.py, torch_model_bench.py).


def openblas_coretype():
    """The OpenBLAS kernel family this CPU supports, from /proc/cpuinfo flags, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None
