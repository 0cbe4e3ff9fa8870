/**
 * LoRA (Hu et al., 2021): a frozen linear layer W gains a trainable low-rank update,
 *
 *   y = x·Wᵀ + b + (alpha / r) · (dropout(x)·Aᵀ)·Bᵀ        A (r, in), B (out, r)
 *
 * A starts Kaiming-uniform and B at zero, so training starts from the base model exactly.
 * The term is computed inside ops.linear (src/autograd/ops.ts) and by the inference engine
 * through the same module code (Linear.inferInto), so an adapter is never ignored.
 *
 * Targets are named by role (q, k, v, o, gate, up, down); `loraModules` maps them to each
 * family's Hugging Face module names, which are also PEFT's `target_modules`. GPT-2's
 * c_attn packs q, k and v into one Conv1D, so on gpt2 they are adapted together (one
 * adapter of out = 3C); llama's q/k/v are separate modules with one adapter each, adding
 * into their columns of the packed qkv output.
 */
import type { Tensor } from '../tensor/tensor.js';
import { dropHash, type LoraTerm } from '../autograd/ops.js';
import { graph } from '../autograd/graph.js';
import type { GPTConfig } from './config.js';

type Family = GPTConfig['family'];
import type { ParameterStore, Init } from './parameters.js';

export const LORA_ROLES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraRole = (typeof LORA_ROLES)[number];

export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  /** Roles adapted, in LORA_ROLES order. */
  targets: LoraRole[];
  /** Seed of the dropout masks. */
  seed: number;
}

const ATTN: LoraRole[] = ['q', 'k', 'v', 'o'];

/** `attn`, `mlp`, `all`, or a comma list of roles, checked against the family. */
export function parseLoraTargets(spec: string, family: Family): LoraRole[] {
  const mlp: LoraRole[] = family === 'gpt2' ? ['up', 'down'] : ['gate', 'up', 'down'];
  let roles: LoraRole[];
  if (spec === 'attn') roles = ATTN;
  else if (spec === 'mlp') roles = mlp;
  else if (spec === 'all') roles = [...ATTN, ...mlp];
  else {
    roles = [];
    for (const part of spec.split(',').map((p) => p.trim())) {
      if (!(LORA_ROLES as readonly string[]).includes(part)) {
        throw new Error(`--targets: unknown target '${part}' (choose attn, mlp, all, or a comma list of ${LORA_ROLES.join(', ')})`);
      }
      if (!roles.includes(part as LoraRole)) roles.push(part as LoraRole);
    }
  }
  if (family === 'gpt2') {
    if (roles.includes('gate')) throw new Error('--targets: gpt2 has no gate projection (its MLP is c_fc → GELU → c_proj: up, down)');
    const qkv = roles.filter((r) => r === 'q' || r === 'k' || r === 'v').length;
    if (qkv !== 0 && qkv !== 3) throw new Error('--targets: gpt2 packs q, k and v into one module (c_attn): adapt q,k,v together or none of them');
  }
  if (roles.length === 0) throw new Error('--targets: no target given');
  return LORA_ROLES.filter((r) => roles.includes(r));
}

/** The family's module (relative to a block) for each role; gpt2's q, k and v share c_attn. */
export function roleModule(family: Family, role: LoraRole): string {
  if (family === 'gpt2') {
    return { q: 'attn.c_attn', k: 'attn.c_attn', v: 'attn.c_attn', o: 'attn.c_proj', gate: '', up: 'mlp.c_fc', down: 'mlp.c_proj' }[role];
  }
  return { q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj', gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj' }[role];
}

/**
 * PEFT's `target_modules` for the roles: module-name suffixes. gpt2 needs the parent for
 * c_proj, which names both the attention output and the MLP down projection.
 */
export function peftTargetModules(family: Family, roles: readonly LoraRole[]): string[] {
  const out: string[] = [];
  for (const r of roles) {
    const m = roleModule(family, r);
    const name = family === 'gpt2' && m.endsWith('c_proj') ? m : m.slice(m.lastIndexOf('.') + 1);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The roles PEFT's target_modules name (the inverse of peftTargetModules). */
export function rolesFromPeft(family: Family, modules: readonly string[], source: string): LoraRole[] {
  const roles: LoraRole[] = [];
  for (const name of modules) {
    const hits = LORA_ROLES.filter((r) => {
      const m = roleModule(family, r);
      return m !== '' && (m === name || m.endsWith(`.${name}`));
    });
    if (hits.length === 0) throw new Error(`${source}: target_modules: '${name}' is no linear module of a ${family} model`);
    for (const h of hits) if (!roles.includes(h)) roles.push(h);
  }
  return LORA_ROLES.filter((r) => roles.includes(r));
}

/** PEFT's init of A: kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in). */
const kaimingUniform = (nIn: number): Init => (data, rng) => {
  const bound = 1 / Math.sqrt(nIn);
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
};

export class LoraAdapter {
  readonly a: Tensor; // (r, in)
  readonly b: Tensor; // (out, r)
  readonly scale: number;
  /** Training forwards run so far: with the seed and the adapter's index, the dropout mask's key. */
  forwards = 0;

  /**
   * @param module the adapted module's parameter prefix (e.g. transformer.h.0.attn.c_attn)
   * @param col first column of the layer's output this adapter adds to (llama's k/v in packed qkv)
   */
  constructor(store: ParameterStore, readonly module: string, nIn: number, nOut: number, readonly col: number, readonly config: LoraConfig, private readonly index: number) {
    this.a = store.declare(`${module}.lora_A.weight`, [config.rank, nIn], 'decay', kaimingUniform(nIn));
    this.b = store.declare(`${module}.lora_B.weight`, [nOut, config.rank], 'decay', (d) => d.fill(0));
    this.scale = config.alpha / config.rank;
  }

  /** The op's view of this adapter for one forward; a recording (training) forward draws a fresh dropout mask. */
  term(): LoraTerm {
    let seed = 0;
    if (graph().recording && this.config.dropout > 0) {
      seed = dropHash(dropHash(this.config.seed, this.index), this.forwards);
      this.forwards++;
    }
    return { a: this.a, b: this.b, scale: this.scale, col: this.col, dropout: this.config.dropout, seed };
  }
}

/** Terms of a layer's adapters (empty, and allocation-free, without any). */
export function loraTerms(adapters: readonly LoraAdapter[]): LoraTerm[] {
  return adapters.length === 0 ? NO_TERMS : adapters.map((a) => a.term());
}
const NO_TERMS: LoraTerm[] = [];

/** Sets every adapter's forward counter (resume: so the dropout masks continue where the run stopped). */
export function setLoraForwards(adapters: readonly LoraAdapter[], forwards: number): void {
  for (const a of adapters) a.forwards = forwards;
}

/** ", of which 0.033M trainable (LoRA r 8, alpha 16 on q, v)" for a LoRA model; "" otherwise (training headers). */
export function trainableNote(lora: LoraConfig | null, adapters: readonly LoraAdapter[]): string {
  if (lora === null) return '';
  const n = adapters.reduce((s, a) => s + a.a.size + a.b.size, 0);
  return `, of which ${(n / 1e6).toFixed(3)}M trainable (LoRA r ${lora.rank}, alpha ${lora.alpha} on ${lora.targets.join(', ')})`;
}
