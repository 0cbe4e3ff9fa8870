#!/usr/bin/env node
// Times the native causal attention kernels at the benchmark shape (B=8, T=256, H=4, D=64
// by default): forward, backward and forward+backward per call, plus a decode step
// (attentionCached, one new token against a filled cache). The PyTorch peer is
// bench/attention_torch.py.
// Packed rows: each row cut into --pack sequences of equal length (segStart), timed
// forward+backward against the same rows unmasked and against the sequences run
// separately (B·pack rows of T/pack tokens): the masked kernel should cost no more than
// the unmasked row, and close to the separate runs.
//
//   node bench/attention.mjs [--threads 2] [--iters 20] [--isa avx512|avx2|portable] [--json]
//                            [--batch 8] [--seq 256] [--heads 4] [--kv-heads 4] [--head-dim 64] [--cache 1024]
//                            [--pack 4]
//
// LLMFORGE_ADDON=/path/to/addon.node selects a private build (scripts/dev-build.sh).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, hasFlag } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.LLMFORGE_ADDON ?? join(root, 'build', 'Release', 'llmforge_native.node');
if (!existsSync(addonPath)) {
  process.stderr.write(`no native addon at ${addonPath} (npm run build:native, or set LLMFORGE_ADDON)\n`);
  process.exit(1);
}
const addon = createRequire(import.meta.url)(addonPath);

const int = (name, fallback) => {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const B = int('--batch', 8), T = int('--seq', 256), H = int('--heads', 4), D = int('--head-dim', 64);
const Hkv = int('--kv-heads', H);
const threads = int('--threads', 1), iters = int('--iters', 20), cacheLen = int('--cache', 1024);
const pack = int('--pack', 4);
if (T % pack !== 0) throw new Error(`--pack (${pack}) must divide --seq (${T})`);
const isa = addon.setIsa(flag('--isa', 'avx512'));
addon.setThreads(threads);

function random(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const scale = 1 / Math.sqrt(D);
const qkv = random(B * T * (H + 2 * Hkv) * D, 1);
const out = new Float32Array(B * T * H * D);
const lse = new Float32Array(B * H * T);
const dout = random(out.length, 2);
const dqkv = new Float32Array(qkv.length);

/**
 * Median and best wall time of `iters` calls, in ms, after a short warm-up, and the
 * process CPU time per call (all threads; on a busy machine the 1-thread CPU time is
 * the steadiest measure of the work itself).
 */
function time(fn) {
  const warmUntil = performance.now() + 200;
  do fn(); while (performance.now() < warmUntil);
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], best: times[0], cpu: (cpu.user + cpu.system) / 1000 / iters };
}

const fwd = () => addon.attentionForward(qkv, out, lse, B, T, H, Hkv, D, scale);
const bwd = () => addon.attentionBackward(qkv, out, dout, lse, dqkv, B, T, H, Hkv, D, scale);
const tf = time(fwd);
const tb = time(bwd);
const tfb = time(() => {
  fwd();
  bwd();
});

// Packed: the same qkv as `pack` sequences of T/pack tokens per row, masked with segStart;
// separate: those sequences as B·pack rows of their own (the same qkv memory, reshaped).
const L = T / pack;
const segStart = new Int32Array(B * T);
for (let i = 0; i < B * T; i++) segStart[i] = i % T - (i % T) % L;
const tm = time(() => {
  addon.attentionForward(qkv, out, lse, B, T, H, Hkv, D, scale, segStart);
  addon.attentionBackward(qkv, out, dout, lse, dqkv, B, T, H, Hkv, D, scale, segStart);
});
const ts = time(() => {
  addon.attentionForward(qkv, out, lse, B * pack, L, H, Hkv, D, scale);
  addon.attentionBackward(qkv, out, dout, lse, dqkv, B * pack, L, H, Hkv, D, scale);
});

// Decode: one token per sequence against a cache of cacheLen entries.
const kCache = random(B * Hkv * cacheLen * D, 3);
const vCache = random(B * Hkv * cacheLen * D, 4);
const q1 = random(B * H * D, 5);
const o1 = new Float32Array(B * H * D);
const td = time(() => addon.attentionCached(q1, kCache, vCache, o1, B, 1, H, Hkv, D, cacheLen - 1, cacheLen, scale));

// Multiply-adds actually needed (causal half): S and P·V forward; S, dP, dV, dQ, dK backward.
const macs = B * H * (T * (T + 1) / 2) * D;
const gflops = (mul, ms) => +((2 * mul * macs) / (ms * 1e6)).toFixed(1);
const r = (x) => +x.toFixed(3);
const result = {
  bench: 'attention', B, T, H, Hkv, D, threads, isa,
  fwd_ms: r(tf.median), bwd_ms: r(tb.median), fwd_bwd_ms_median: r(tfb.median), fwd_bwd_ms_best: r(tfb.best),
  fwd_bwd_cpu_ms: r(tfb.cpu),
  fwd_gflops: gflops(2, tf.median), bwd_gflops: gflops(5, tb.median),
  pack, masked_fwd_bwd_ms: r(tm.median), separate_fwd_bwd_ms: r(ts.median),
  masked_fwd_bwd_cpu_ms: r(tm.cpu), separate_fwd_bwd_cpu_ms: r(ts.cpu),
  decode_cache: cacheLen, decode_ms: r(td.median),
};
if (hasFlag('--json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(
    `attention B=${B} T=${T} H=${H} Hkv=${Hkv} D=${D}, ${threads} thread(s), ${isa}: ` +
      `forward ${result.fwd_ms} ms (${result.fwd_gflops} GFLOP/s), backward ${result.bwd_ms} ms ` +
      `(${result.bwd_gflops} GFLOP/s), forward+backward ${result.fwd_bwd_ms_median} ms median ` +
      `(${result.fwd_bwd_ms_best} best of ${iters}, ${result.fwd_bwd_cpu_ms} ms CPU); ` +
      `decode 1 token vs ${cacheLen} cached: ${result.decode_ms} ms\n` +
      `packed ${pack} sequences of ${L} per row, forward+backward: unmasked ${result.fwd_bwd_ms_median} ms, ` +
      `masked ${result.masked_fwd_bwd_ms} ms, separate rows ${result.separate_fwd_bwd_ms} ms ` +
      `(CPU ${result.fwd_bwd_cpu_ms} / ${result.masked_fwd_bwd_cpu_ms} / ${result.separate_fwd_bwd_cpu_ms} ms)\n`,
  );
}
