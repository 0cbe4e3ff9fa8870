#!/usr/bin/env python3
"""Greedy decoding of a Hugging Face GPT-2 / Llama folder with a PyTorch forward written from transformers'
own definitions (modeling_gpt2.py: GPT2Attention, Conv1D, GPT2MLP with gelu_new; modeling_llama.py:
LlamaRMSNorm, LlamaRotaryEmbedding + apply_rotary_pos_emb with rotate_half, repeat_kv, LlamaMLP), independent
of llmforge's code. It reads config.json with transformers' field names and defaults and model.safetensors
(F32/F16/BF16) by hand, so it checks what `llmforge export --format hf` means to the ecosystem.
transformers itself is not needed (Debian's python3-torch is enough).

  python3 bench/hf_reference.py HF_DIR --prompt 1,2,3 --new-tokens 64 [--vocab-limit N]
  → {"tokens": [...], "last_logits": [...]}   (last_logits: the logits after the prompt)
"""
import argparse
import json
import math
import struct

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + a:base + b]), dtype=DTYPES[e["dtype"]]) if b > a else torch.zeros(0)
        out[name] = t.reshape(e["shape"]).float()
    return out


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_new(x):  # transformers.activations.NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def causal_attention(q, k, v):  # (B, H, T, D) each; GPT2Attention / eager_attention_forward
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1) @ v


def gpt2_logits(cfg, w, ids):
    C, H = cfg.get("n_embd", 768), cfg.get("n_head", 12)
    L, eps = cfg.get("n_layer", 12), cfg.get("layer_norm_epsilon", 1e-5)
    T = ids.shape[1]
    h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(T)]
    for i in range(L):
        p = f"transformer.h.{i}."
        a = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x @ W(in, out) + b
        q, k, v = qkv.split(C, dim=-1)
        heads = lambda x: x.view(1, T, H, C // H).transpose(1, 2)
        y = causal_attention(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(1, T, C)
        h = h + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        h = h + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["transformer.wte.weight"] if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return h @ head.T


def rms_norm(x, weight, eps):  # LlamaRMSNorm
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama_logits(cfg, w, ids):
    C, H = cfg.get("hidden_size", 4096), cfg.get("num_attention_heads", 32)
    Hkv = cfg.get("num_key_value_heads") or H
    L, eps = cfg.get("num_hidden_layers", 32), cfg.get("rms_norm_eps", 1e-6)
    D = cfg.get("head_dim") or C // H
    theta = cfg.get("rope_theta", 10000.0)
    T = ids.shape[1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    freqs = torch.arange(T).float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    h = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}."
        a = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = (a @ w[p + "self_attn.q_proj.weight"].T).view(1, T, H, D).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).view(1, T, Hkv, D).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).view(1, T, Hkv, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = H // Hkv  # repeat_kv: query head j reads key/value head j // rep
        k = k[:, :, None].expand(1, Hkv, rep, T, D).reshape(1, H, T, D)
        v = v[:, :, None].expand(1, Hkv, rep, T, D).reshape(1, H, T, D)
        y = causal_attention(q, k, v).transpose(1, 2).reshape(1, T, H * D)
        h = h + y @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = m @ w[p + "mlp.gate_proj.weight"].T
        h = h + (torch.nn.functional.silu(gate) * (m @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return h @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt", required=True, help="comma-separated token ids")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--vocab-limit", type=int, default=None, help="only ids below this are chosen (the tokenizer's size)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(f"{args.model}/config.json") as f:
        cfg = json.load(f)
    w = read_safetensors(f"{args.model}/model.safetensors")
    forward = {"gpt2": gpt2_logits, "llama": llama_logits}[cfg["model_type"]]
    ids = [int(x) for x in args.prompt.split(",")]
    out, last = [], None
    with torch.no_grad():
        for step in range(args.new_tokens):  # no KV cache: the full forward every step, as the definition reads
            logits = forward(cfg, w, torch.tensor([ids]))[0, -1]
            if step == 0:
                last = logits.tolist()
            limit = args.vocab_limit or logits.shape[0]
            nxt = int(torch.argmax(logits[:limit]))
            out.append(nxt)
            ids.append(nxt)
    print(json.dumps({"tokens": out, "last_logits": last}))


if __name__ == "__main__":
    main()
