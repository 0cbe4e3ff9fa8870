"""The PyTorch peer for the nanoGPT laptop-CPU recipe, on llmforge-prepared token shards.

nanoGPT's README trains shakespeare_char on a CPU with:
  --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
  --lr_decay_iters=2000 --dropout=0.0   (learning_rate 1e-3, min_lr 1e-4, beta2 0.99, warmup 100,
  weight_decay 0.1, grad_clip 1.0, bias False)
This script reimplements that recipe and reads the SAME train/val shards llmforge trains on, so the two
validation losses are measured on identical windows (the first EVAL_BATCHES × 12 sequential windows of val).

    /usr/bin/python3 bench/nanogpt_torch.py --data DIR --threads 2 [--iters 2000] [--eval-batches 50]

Prints one JSON line: {"bench":"nanogpt-torch","iters":…,"train_seconds":…,"val_loss":…,"curve":[[iter, val_loss, seconds]…]}.
Training seconds exclude evaluation, as llmforge's elapsed_s does.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_split(data_dir, split):
    manifest = json.load(open(os.path.join(data_dir, "manifest.json")))
    arrays = []
    for shard in manifest["shards"]:
        if shard["split"] != split:
            continue
        path = os.path.join(data_dir, shard["file"])
        dtype = np.uint16 if manifest["dtype"] == "uint16" else np.uint32
        arrays.append(np.fromfile(path, dtype=dtype, offset=32).astype(np.int64))
    return np.concatenate(arrays), manifest["tokenizer"]["vocab_size"]


class Block(nn.Module):
    def __init__(self, d, heads, T):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, elementwise_affine=True)
        self.c_attn = nn.Linear(d, 3 * d, bias=False)
        self.c_proj = nn.Linear(d, d, bias=False)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d, bias=False)
        self.mlp_proj = nn.Linear(4 * d, d, bias=False)
        self.h = heads
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, T, layers, heads, d):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(T, d)
        self.blocks = nn.ModuleList([Block(d, heads, T) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        for n, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if n.endswith("c_proj.weight") or n.endswith("mlp_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        B, T = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def lr_at(it, lr=1e-3, min_lr=1e-4, warmup=100, decay=2000):
    if it < warmup:
        return lr * (it + 1) / warmup
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, T = 12, 64
    train, vocab = read_split(a.data, "train")
    val, _ = read_split(a.data, "val")
    train_t, val_t = torch.from_numpy(train), torch.from_numpy(val)
    model = GPT(vocab, T, 4, 4, 128)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "wte" not in n and "wpe" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99), eps=1e-8)

    def evaluate():
        model.eval()
        total, count, cursor = 0.0, 0, 0
        with torch.no_grad():
            for _ in range(a.eval_batches):
                xs, ys = [], []
                for _ in range(B):
                    if cursor + T + 1 > len(val_t):
                        cursor = 0
                    xs.append(val_t[cursor:cursor + T])
                    ys.append(val_t[cursor + 1:cursor + T + 1])
                    cursor += T
                total += model(torch.stack(xs), torch.stack(ys)).item()
                count += 1
        model.train()
        return total / count

    curve, seconds = [], 0.0
    for it in range(a.iters):
        t0 = time.perf_counter()
        ix = torch.randint(len(train_t) - T - 1, (B,))
        x = torch.stack([train_t[i:i + T] for i in ix])
        y = torch.stack([train_t[i + 1:i + T + 1] for i in ix])
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seconds += time.perf_counter() - t0
        if (it + 1) % a.eval_every == 0 or it + 1 == a.iters:
            v = evaluate()
            curve.append([it + 1, round(v, 4), round(seconds, 2)])
            print(f"iter {it + 1}: train loss {loss.item():.4f}, val loss {v:.4f}, {seconds:.1f} s", file=sys.stderr)
    print(json.dumps({"bench": "nanogpt-torch", "iters": a.iters, "threads": a.threads, "train_seconds": round(seconds, 2),
                      "val_loss": curve[-1][1], "curve": curve}))


if __name__ == "__main__":
    main()
