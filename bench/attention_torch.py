#!/usr/bin/env python3
"""The peer of bench/attention.mjs: PyTorch's unfused causal attention (nanoGPT's
manual path: q@kᵀ, scale, mask, softmax, @v) from a packed qkv to the (B, T, H·D)
output, forward + autograd backward, at the same shape and thread count.

    /usr/bin/python3 bench/attention_torch.py --threads 2 [--json]

Thread counts are fixed before torch loads (OpenBLAS reads OPENBLAS_NUM_THREADS once).
The "blas" field says which BLAS torch's matmuls ran on (Debian's python3-torch uses
the system libblas.so.3: netlib reference BLAS unless OpenBLAS is installed).
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description="time PyTorch's unfused causal attention, forward + backward")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def loaded_blas():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
    except OSError:
        return "unknown"
    for path in sorted(libs):
        real = os.path.realpath(path)
        name = os.path.basename(real)
        if "openblas" in real and name.startswith(("libopenblas", "libblas")):
            try:
                import ctypes
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                return "openblas/" + lib.openblas_get_corename().decode()
            except (OSError, AttributeError):
                return "openblas"
        if "mkl_" in name:
            return "mkl"
        if name.startswith("libblas.so"):
            return "reference-blas"
    return "unknown"


def main():
    a = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import torch  # after the environment is set

    torch.set_num_threads(a.threads)
    B, T, H, D = a.batch, a.seq, a.heads, a.head_dim
    C = H * D
    g = torch.Generator().manual_seed(0)
    qkv = (torch.rand(B, T, 3 * C, generator=g) * 2 - 1).requires_grad_()
    dout = torch.rand(B, T, C, generator=g) * 2 - 1
    mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    scale = 1.0 / D ** 0.5

    def step():
        # nanoGPT CausalSelfAttention without the projections (those are matmuls, timed elsewhere).
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * scale
        att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        qkv.grad = None
        y.backward(dout)

    warmup_until = time.perf_counter() + 0.3
    step()
    while time.perf_counter() < warmup_until:
        step()
    times = []
    cpu0 = time.process_time()
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / a.iters  # all threads; steadiest 1-thread measure on a busy machine
    result = {"bench": "attention-torch", "B": B, "T": T, "H": H, "D": D, "threads": a.threads,
              "blas": loaded_blas(), "torch": torch.__version__,
              "fwd_bwd_ms_median": round(statistics.median(times) * 1e3, 3),
              "fwd_bwd_ms_best": round(min(times) * 1e3, 3), "fwd_bwd_cpu_ms": round(cpu * 1e3, 3)}
    if a.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(f"torch {torch.__version__} unfused attention B={B} T={T} H={H} D={D}, {a.threads} thread(s), "
              f"{result['blas']}: forward+backward {result['fwd_bwd_ms_median']:.2f} ms median, "
              f"{result['fwd_bwd_ms_best']:.2f} ms best of {a.iters}, {result['fwd_bwd_cpu_ms']:.2f} ms CPU")


if __name__ == "__main__":
    sys.exit(main())
