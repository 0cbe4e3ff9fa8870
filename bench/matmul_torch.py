#!/usr/bin/env python3
"""The peer of `llmforge bench matmul`: times torch.mm at the same shapes and prints the
same JSON line with "bench": "matmul-torch".

    /usr/bin/python3 bench/matmul_torch.py --size 1024 --threads 2 --json
    /usr/bin/python3 bench/matmul_torch.py --m 2048 --n 768 --k 256 --trans-b --threads 2 --json

torch.mm on CPU calls whatever BLAS torch was built against: Debian's python3-torch
uses the system libblas.so.3, which is the slow netlib reference BLAS unless an
optimized one (OpenBLAS) is installed or put first on LD_LIBRARY_PATH. The "isa" field
reports which BLAS library is loaded, so a comparison always says what it compared to.
Thread counts are fixed before torch loads (OpenBLAS reads OPENBLAS_NUM_THREADS once).
"""
import argparse
import json
import os
import statistics
import sys
import time


def positive(flag):
    def parse(value):
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: expected an integer, got '{value}'")
        if n < 1:
            raise argparse.ArgumentTypeError(f"{flag}: must be >= 1, got {n}")
        return n
    return parse


def parse_args():
    p = argparse.ArgumentParser(description="time torch.mm like `llmforge bench matmul`")
    p.add_argument("--size", type=positive("--size"), help="square problem: m = n = k = SIZE")
    p.add_argument("--m", type=positive("--m"))
    p.add_argument("--n", type=positive("--n"))
    p.add_argument("--k", type=positive("--k"))
    p.add_argument("--threads", type=positive("--threads"), default=1)
    p.add_argument("--iters", type=positive("--iters"), default=20)
    p.add_argument("--trans-a", action="store_true", help="A stored k×m")
    p.add_argument("--trans-b", action="store_true", help="B stored n×k")
    p.add_argument("--accumulate", action="store_true", help="C += A·B (addmm_) instead of C = A·B")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.size is not None and (a.m or a.n or a.k):
        p.error("give either --size or --m/--n/--k")
    size = a.size or 1024
    a.m, a.n, a.k = a.m or size, a.n or size, a.k or size
    return a


def loaded_blas():
    """Which BLAS shared library torch pulled into this process (OpenBLAS also names the
    kernel set it picked for this CPU, e.g. openblas/Haswell: 0.3.21 runs its AVX2
    kernels on Zen 5 unless OPENBLAS_CORETYPE=SkylakeX)."""
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
        if "blis" in real:
            return "blis"
        if name.startswith("libblas.so"):
            return "reference-blas"
    return "unknown"


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch  # after the environment is set

    torch.set_num_threads(args.threads)
    m, n, k = args.m, args.n, args.k
    g = torch.Generator().manual_seed(0)
    a = torch.rand(k, m, generator=g) if args.trans_a else torch.rand(m, k, generator=g)
    b = torch.rand(n, k, generator=g) if args.trans_b else torch.rand(k, n, generator=g)
    # Transposed views, as a Linear layer uses them: BLAS gets the transpose flag, no copy.
    opa = a.t() if args.trans_a else a
    opb = b.t() if args.trans_b else b
    c = torch.zeros(m, n)

    def step():
        if args.accumulate:
            c.addmm_(opa, opb)
        else:
            torch.mm(opa, opb, out=c)

    with torch.no_grad():
        warmup_until = time.perf_counter() + 0.2
        step()
        while time.perf_counter() < warmup_until:
            step()
        times = []
        for _ in range(args.iters):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    gflops = 2.0 * m * n * k / (ms * 1e-3) / 1e9
    result = {"bench": "matmul-torch", "m": m, "n": n, "k": k, "threads": args.threads,
              "isa": loaded_blas(), "gflops": round(gflops, 2), "ms": round(ms, 4)}
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(f"torch.mm {m}x{n}x{k}{' transA' if args.trans_a else ''}{' transB' if args.trans_b else ''}: "
              f"{gflops:.1f} GFLOP/s, {ms:.3f} ms median of {args.iters} "
              f"({args.threads} thread{'s' if args.threads > 1 else ''}, torch {torch.__version__}, {result['isa']})")


if __name__ == "__main__":
    sys.exit(main())
