/**
 * The GPT configuration and its named presets. One config covers both families:
 * gpt2 (learned positions, LayerNorm, GELU, optional biases) and llama (RoPE, RMSNorm,
 * SwiGLU, grouped-query attention, no biases).
 */
import { z } from 'zod';

/** The fields alone, without the cross-field checks (partial configs build on it). */
export const GPTConfigFields = z
  .object({
    family: z.enum(['gpt2', 'llama']),
    vocabSize: z.number().int().min(1),
    contextLength: z.number().int().min(1),
    nLayer: z.number().int().min(1),
    nHead: z.number().int().min(1),
    /** Key/value heads (grouped-query attention); equals nHead for multi-head attention. */
    nKvHead: z.number().int().min(1),
    nEmbd: z.number().int().min(1),
    /** Hidden size of the MLP (4·nEmbd for gpt2; SwiGLU's is usually ~8/3·nEmbd). */
    mlpHidden: z.number().int().min(1),
    bias: z.boolean(),
    tiedEmbeddings: z.boolean(),
    normEps: z.number().positive(),
    ropeTheta: z.number().positive(),
  })
  .strict();

export const GPTConfigSchema = GPTConfigFields.superRefine((c, ctx) => {
    if (c.nEmbd % c.nHead !== 0) ctx.addIssue({ code: 'custom', path: ['nEmbd'], message: `n_embd (${c.nEmbd}) must be divisible by n_head (${c.nHead})` });
    if (c.nHead % c.nKvHead !== 0) ctx.addIssue({ code: 'custom', path: ['nKvHead'], message: `n_head (${c.nHead}) must be a multiple of n_kv_head (${c.nKvHead})` });
    if (c.family === 'gpt2' && c.nKvHead !== c.nHead) ctx.addIssue({ code: 'custom', path: ['nKvHead'], message: 'the gpt2 family has n_kv_head = n_head' });
    if (c.family === 'llama' && (c.nEmbd / c.nHead) % 2 !== 0) ctx.addIssue({ code: 'custom', path: ['nHead'], message: 'RoPE needs an even head size' });
  });

export type GPTConfig = z.infer<typeof GPTConfigSchema>;

const gpt2 = (o: Pick<GPTConfig, 'vocabSize' | 'contextLength' | 'nLayer' | 'nHead' | 'nEmbd'> & Partial<GPTConfig>): GPTConfig => ({
  family: 'gpt2', nKvHead: o.nHead, mlpHidden: 4 * o.nEmbd, bias: true, tiedEmbeddings: true, normEps: 1e-5, ropeTheta: 10000, ...o,
});

export const PRESETS = {
  /** The benchmark model of the README's performance section. */
  ref: gpt2({ vocabSize: 4096, contextLength: 256, nLayer: 4, nHead: 4, nEmbd: 256, bias: false }),
  /** For tests and the quick demo: trains on 2 cores in seconds. */
  tiny: gpt2({ vocabSize: 512, contextLength: 128, nLayer: 2, nHead: 4, nEmbd: 64, bias: false }),
  /** nanoGPT's laptop-CPU recipe (shakespeare_char on CPU), with a byte-level vocabulary. */
  'nanogpt-cpu': gpt2({ vocabSize: 256, contextLength: 64, nLayer: 4, nHead: 4, nEmbd: 128, bias: false }),
  /** A small llama-family model for real runs on a few cores. */
  small: {
    family: 'llama', vocabSize: 8192, contextLength: 512, nLayer: 6, nHead: 6, nKvHead: 2, nEmbd: 384, mlpHidden: 1024,
    bias: false, tiedEmbeddings: true, normEps: 1e-5, ropeTheta: 10000,
  } satisfies GPTConfig,
  /** GPT-2 small (124M), the shapes of OpenAI's checkpoint. */
  'gpt2-124m': gpt2({ vocabSize: 50257, contextLength: 1024, nLayer: 12, nHead: 12, nEmbd: 768 }),
} as const satisfies Record<string, GPTConfig>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function preset(name: string): GPTConfig {
  if (!(name in PRESETS)) throw new Error(`unknown preset '${name}' (choose from ${PRESET_NAMES.join(', ')})`);
  return { ...PRESETS[name as PresetName] };
}

/** Validates a config, turning zod's issues into one readable error. */
export function parseConfig(value: unknown, source = 'model config'): GPTConfig {
  const r = GPTConfigSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: ${issues}`);
  }
  return r.data;
}

export function headDim(c: GPTConfig): number {
  return c.nEmbd / c.nHead;
}
