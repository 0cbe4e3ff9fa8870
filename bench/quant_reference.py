#!/usr/bin/env python3
"""F16, BF16 and Q8_0 bytes of a float32 array as torch and gguf-py compute them, independently of llmforge's
src/export/quant.ts (which test/hf-torch.test.ts compares with these, byte for byte).

  python3 bench/quant_reference.py values.f32 out    → out.f16 (torch .half()), out.bf16 (torch .bfloat16()),
                                                       out.q8_0 (gguf-py's quantize_q8_0 in numpy)
"""
import sys

import numpy as np
import torch


def np_roundf(n):  # gguf-py quants.np_roundf: round half away from zero, like C's roundf
    a = abs(n)
    floored = np.floor(a)
    b = floored + np.floor(2 * (a - floored))
    return np.sign(n) * b


def quantize_q8_0(x):  # gguf-py quants.Q8_0.quantize_blocks
    blocks = x.reshape(-1, 32)
    d = abs(blocks).max(axis=1, keepdims=True) / 127
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, 0, 1 / d)
    qs = np_roundf(blocks * inv)
    return np.concatenate([d.astype(np.float16).view(np.uint8), qs.astype(np.int8).view(np.uint8)], axis=1).tobytes()


def main():
    src, out = sys.argv[1], sys.argv[2]
    x = np.fromfile(src, dtype="<f4")
    t = torch.from_numpy(x.copy())
    with open(out + ".f16", "wb") as f:
        f.write(t.half().numpy().tobytes())
    with open(out + ".bf16", "wb") as f:
        f.write(t.bfloat16().view(torch.int16).numpy().tobytes())
    with open(out + ".q8_0", "wb") as f:
        f.write(quantize_q8_0(x))


if __name__ == "__main__":
    main()
