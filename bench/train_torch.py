"""The PyTorch peer for `llmforge bench train`: the same GPT, optimizer and step.

Run with Debian's PyTorch 1.13 (apt-get install python3-torch libopenblas0-pthread;
without OpenBLAS, Debian's torch falls back to the reference BLAS and is far slower):

    /usr/bin/python3 bench/train_torch.py --preset ref --threads 2 --steps 10 --json

The model mirrors llmforge's gpt2 family (nanoGPT's structure): learned positions,
LayerNorm, GELU (tanh), tied embeddings, optional biases, no dropout. The step is
forward + backward + clip_grad_norm_(1.0) + AdamW (betas 0.9/0.95, wd 0.1 on matrices).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "ref": dict(vocab=4096, ctx=256, layers=4, heads=4, d=256, bias=False),
    "tiny": dict(vocab=512, ctx=128, layers=2, heads=4, d=64, bias=False),
    "nanogpt-cpu": dict(vocab=256, ctx=64, layers=4, heads=4, d=128, bias=False),
    "gpt2-124m": dict(vocab=50257, ctx=1024, layers=12, heads=12, d=768, bias=True),
}


class LayerNorm(nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["d"], 3 * c["d"], bias=c["bias"])
        self.c_proj = nn.Linear(c["d"], c["d"], bias=c["bias"])
        self.h = c["heads"]
        T = c["ctx"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["d"], c["bias"])
        self.attn = Attention(c)
        self.ln_2 = LayerNorm(c["d"], c["bias"])
        self.c_fc = nn.Linear(c["d"], 4 * c["d"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["d"], c["d"], bias=c["bias"])

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.wpe = nn.Embedding(c["ctx"], c["d"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.ln_f = LayerNorm(c["d"], c["bias"])
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, targets):
        B, T = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def make_optimizer(model, lr):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n and "wpe" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "wte" not in n and "wpe" not in n)]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8, foreach=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="ref", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    c = PRESETS[a.preset]
    model = GPT(c)
    opt = make_optimizer(model, 1e-4)
    times = []
    for i in range(a.warmup + a.steps):
        x = torch.randint(0, c["vocab"], (a.batch, c["ctx"]))
        y = torch.randint(0, c["vocab"], (a.batch, c["ctx"]))
        t0 = time.perf_counter()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ms = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(ms)
        if not a.json:
            print(f"step {i}: {ms:.1f} ms, loss {loss.item():.4f}", file=sys.stderr)
    times.sort()
    step_ms = times[len(times) // 2]
    tokens = a.batch * c["ctx"]
    rec = {"bench": "train-torch", "preset": a.preset, "batch": a.batch, "threads": a.threads,
           "torch": torch.__version__, "tokens_per_s": round(tokens * 1000 / step_ms, 1), "step_ms": round(step_ms, 2)}
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
