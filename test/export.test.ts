import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { CONFIGS, saveTestCheckpoint, testModel, testTokenizer } from './export-helpers.js';
import { loadModel, readCheckpointConfig } from '../src/model/checkpoint.js';
import { encodeSafetensors, readSafetensors } from '../src/tensor/safetensors.js';
import type { BpeTokenizer } from '../src/tokenizer/index.js';
import { exportHf } from '../src/export/hf-export.js';
import { importHf } from '../src/export/import.js';
import { encodeHfSafetensors } from '../src/export/hf-files.js';
import { dequantizeQ8_0, f16ToF32, f32ToBf16, f32ToF16, quantizeQ8_0 } from '../src/export/quant.js';
import { decodeGguf, encodeGguf, GgmlType, i32s, str, strings, u32 } from '../src/export/gguf.js';
import { exportGguf, permuteRope } from '../src/export/gguf-export.js';
import { llamaCppPreTokenizer } from '../src/export/gguf-tokenizer.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { CHAT_TEMPLATE } from '../src/model/chat.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let tok: BpeTokenizer;
beforeAll(async () => {
  tok = await testTokenizer();
});

const f32Bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

describe('number formats', () => {
  it('f16: every half value round-trips; ties go to even; overflow, subnormals, NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) expect(Number.isNaN(f16ToF32(f32ToF16(x)))).toBe(true);
      else expect(f32ToF16(x)).toBe(h);
    }
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(65520)).toBe(0x7c00); // rounds past the largest half → Inf
    expect(f32ToF16(2 ** -25)).toBe(0); // half of the smallest subnormal → 0 (even)
    expect(f32ToF16(3 * 2 ** -25)).toBe(2);
    expect(f32ToF16(-0)).toBe(0x8000);
  });

  it('bf16: round to nearest even on the upper 16 bits', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(-2.5)).toBe(f32Bits(-2.5) >>> 16);
    expect(Number.isNaN(new Float32Array(new Uint32Array([f32ToBf16(NaN) << 16]).buffer)[0])).toBe(true);
  });

  it('q8_0: ggml block layout, scale max|x|/127, ties away from zero, error ≤ scale/2 plus the F16 scale rounding', () => {
    const x = new Float32Array(64);
    for (let i = 0; i < 64; i++) x[i] = Math.sin(i * 1.7) * (i < 32 ? 1 : 0.1);
    x[5] = -1.5; // the block's max magnitude
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(2 * 34);
    const view = new DataView(q.buffer);
    expect(f16ToF32(view.getUint16(0, true))).toBeCloseTo(1.5 / 127, 5);
    expect(view.getInt8(2 + 5)).toBe(-127);
    const back = dequantizeQ8_0(q, 64);
    const amax = [0, 32].map((b) => Math.max(...x.subarray(b, b + 32).map(Math.abs)));
    for (let i = 0; i < 64; i++) expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual((amax[i >> 5] / 127) * 0.57);
    expect(quantizeQ8_0(new Float32Array(32)).every((b) => b === 0)).toBe(true); // all-zero block: scale 0, no NaN
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/blocks of 32/);
  });
});

describe('GGUF container', () => {
  it('writes what it reads back: header, metadata, aligned tensors', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const chunks = encodeGguf(
      [['general.architecture', str('llama')], ['a.count', u32(7)], ['t.list', strings(['x', 'Ġy'])], ['t.types', i32s([1, -3])]],
      [{ name: 'w', shape: [2, 3], type: GgmlType.F32, data: new Uint8Array(data.buffer) }, { name: 'v', shape: [1], type: GgmlType.F32, data: new Uint8Array(4) }],
    );
    const buf = Buffer.concat(chunks);
    const g = decodeGguf(buf, 'mem');
    expect(g.version).toBe(3);
    expect([...g.metadata]).toEqual([['general.architecture', 'llama'], ['a.count', 7], ['t.list', ['x', 'Ġy']], ['t.types', [1, -3]]]);
    expect(g.tensors.map((t) => [t.name, t.shape])).toEqual([['w', [2, 3]], ['v', [1]]]);
    expect(g.tensors.every((t) => (t.data.byteOffset - buf.byteOffset) % 32 === 0)).toBe(true);
    expect(new Float32Array(Uint8Array.from(g.tensors[0].data).buffer)).toEqual(data);
    expect(() => decodeGguf(buf.subarray(0, buf.length - 30), 'cut.gguf')).toThrow(/cut.gguf: .*truncated/);
  });
});

describe('Hugging Face export → import', () => {
  for (const [label, config] of Object.entries(CONFIGS)) {
    it(`${label}: config and weights come back bit-identical`, async () => {
      const dir = join(root, label.replace(/\W+/g, '-'));
      const model = testModel(config);
      await exportHf(model, tok, join(dir, 'hf'), 'f32');
      const files = readdirSync(join(dir, 'hf')).sort();
      expect(files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
      const hf = readSafetensors(join(dir, 'hf', 'model.safetensors')).tensors;
      if (config.family === 'gpt2') {
        expect(hf.get('transformer.h.0.attn.c_attn.weight')?.shape).toEqual([config.nEmbd, 3 * config.nEmbd]); // Conv1D (in, out)
        expect(hf.get('transformer.h.1.mlp.c_proj.bias')?.shape).toEqual([config.nEmbd]);
        expect(hf.get('transformer.ln_f.bias')?.shape).toEqual([config.nEmbd]);
      } else {
        expect(hf.get('model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([config.nKvHead * (config.nEmbd / config.nHead), config.nEmbd]);
      }
      expect(hf.has('lm_head.weight')).toBe(!config.tiedEmbeddings);

      await importHf(join(dir, 'hf'), join(dir, 'back'));
      expect(readCheckpointConfig(join(dir, 'back'))).toEqual(config);
      const back = loadModel(join(dir, 'back')).model;
      expect(Buffer.from(back.params.data.buffer).equals(Buffer.from(model.params.data.buffer))).toBe(true);
      expect(readFileSync(join(dir, 'back', 'tokenizer.json'), 'utf8')).toBe(tok.toTokenizerJson());
    });
  }

  it('reads checkpoints saved from the headless model (names without transformer. / model.), with buffers', async () => {
    const dir = join(root, 'headless');
    const model = testModel(CONFIGS['gpt2 untied, biases']);
    await exportHf(model, tok, join(dir, 'hf'), 'f32');
    const all = [...readSafetensors(join(dir, 'hf', 'model.safetensors')).tensors].map(([n, t]) => [n.replace(/^transformer\./, ''), t] as [string, typeof t]);
    const mask = { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) }; // GPT2Attention's causal-mask buffer, as old saves have it
    writeFileAtomic(join(dir, 'hf', 'model.safetensors'), encodeSafetensors([...all, ['h.0.attn.bias', mask]]));
    await importHf(join(dir, 'hf'), join(dir, 'back'));
    expect(loadModel(join(dir, 'back')).model.params.data).toEqual(model.params.data);
  });

  it('config.json means what it means in transformers: absent fields take GPT2Config / LlamaConfig defaults', async () => {
    const dir = join(root, 'defaults');
    const config = { ...CONFIGS['gpt2 untied, biases'], nHead: 4, nKvHead: 4, mlpHidden: 256, tiedEmbeddings: true };
    await exportHf(testModel(config), tok, join(dir, 'hf'), 'f32');
    // A hand-written minimal config: n_inner null (4·n_embd), no tie_word_embeddings (tied), no layer_norm_epsilon (1e-5).
    writeFileSync(join(dir, 'hf', 'config.json'), JSON.stringify({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 320, n_positions: 64, n_embd: 64, n_layer: 2, n_head: 4, n_inner: null,
    }));
    await importHf(join(dir, 'hf'), join(dir, 'back'));
    expect(readCheckpointConfig(join(dir, 'back'))).toEqual(config);
  });

  it('a tokenizer without the chat tokens: no chat template, eos from its end-of-text token', async () => {
    const plain = await (await import('../src/tokenizer/index.js')).trainTokenizer({ texts: ['In the beginning'], vocabSize: 270, specialTokens: ['<|endoftext|>'], progress: false });
    const dir = join(root, 'plain');
    await exportHf(testModel(CONFIGS['gpt2 tied, no biases']), plain, join(dir, 'hf'), 'f32');
    const tc = JSON.parse(readFileSync(join(dir, 'hf', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(tc.chat_template).toBeUndefined();
    expect(tc).toMatchObject({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' });
    const id = plain.specialTokens.get('<|endoftext|>');
    expect(JSON.parse(readFileSync(join(dir, 'hf', 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: id, eos_token_id: [id] });
  });

  it('F16 and BF16 exports import as exactly the rounded values', async () => {
    const model = testModel(CONFIGS['llama tied, GQA']);
    for (const dtype of ['f16', 'bf16'] as const) {
      const dir = join(root, `half-${dtype}`);
      await exportHf(model, tok, join(dir, 'hf'), dtype);
      expect((JSON.parse(readFileSync(join(dir, 'hf', 'config.json'), 'utf8')) as { torch_dtype: string }).torch_dtype).toBe(dtype === 'f16' ? 'float16' : 'bfloat16');
      await importHf(join(dir, 'hf'), join(dir, 'back'));
      const got = loadModel(join(dir, 'back')).model.params.data;
      const want = model.params.data.map((x) => (dtype === 'f16' ? f16ToF32(f32ToF16(x)) : new Float32Array(new Uint32Array([f32ToBf16(x) << 16]).buffer)[0]));
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    }
  });

  it('reads sharded weights through model.safetensors.index.json', async () => {
    const dir = join(root, 'sharded');
    const model = testModel(CONFIGS['gpt2 untied, biases']);
    await exportHf(model, tok, join(dir, 'hf'), 'f32');
    const all = [...readSafetensors(join(dir, 'hf', 'model.safetensors')).tensors];
    rmSync(join(dir, 'hf', 'model.safetensors'));
    const half = Math.ceil(all.length / 2);
    const shards = [all.slice(0, half), all.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileAtomic(join(dir, 'hf', file), encodeHfSafetensors(part, 'f32'));
      for (const [name] of part) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'hf', 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await importHf(join(dir, 'hf'), join(dir, 'back'));
    const back = loadModel(join(dir, 'back')).model;
    expect(Buffer.from(back.params.data.buffer).equals(Buffer.from(model.params.data.buffer))).toBe(true);
    expect(back.config).toEqual(model.config);
  });

  it('unsupported architectures, fields and broken folders fail with one error naming them', async () => {
    const dir = join(root, 'bad');
    await exportHf(testModel(CONFIGS['llama tied, GQA']), tok, join(dir, 'hf'), 'f32');
    const cfgPath = join(dir, 'hf', 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    const attempt = async (patch: Record<string, unknown>, re: RegExp): Promise<void> => {
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, ...patch }));
      await expect(importHf(join(dir, 'hf'), join(dir, 'out'))).rejects.toThrow(re);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    };
    await attempt({ architectures: ['MistralForCausalLM'], model_type: 'mistral' }, /config\.json: unsupported architecture MistralForCausalLM/);
    await attempt({ rope_scaling: { type: 'linear', factor: 2 } }, /unsupported field "rope_scaling"/);
    await attempt({ hidden_act: 'gelu' }, /unsupported field "hidden_act"/);
    await attempt({ attention_bias: true }, /unsupported field "attention_bias"/);
    await attempt({ num_key_value_heads: 4 }, /tensor model\.layers\.0\.self_attn\.k_proj\.weight has shape/);
    await attempt({ hidden_size: 'big' }, /field "hidden_size" must be a number/);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    mkdirSync(join(dir, 'out'));
    writeFileSync(join(dir, 'out', 'keep.txt'), 'mine');
    await expect(importHf(join(dir, 'hf'), join(dir, 'out'))).rejects.toThrow(/--out .*not empty/);
    expect(readFileSync(join(dir, 'out', 'keep.txt'), 'utf8')).toBe('mine');
    const tensors = [...readSafetensors(join(dir, 'hf', 'model.safetensors')).tensors];
    writeFileAtomic(join(dir, 'hf', 'model.safetensors'), encodeSafetensors(tensors.filter(([n]) => n !== 'model.norm.weight')));
    await expect(importHf(join(dir, 'hf'), join(dir, 'out2'))).rejects.toThrow(/missing tensor model\.norm\.weight/);
    writeFileAtomic(join(dir, 'hf', 'model.safetensors'), encodeSafetensors([...tensors, ['model.extra.weight', { shape: [1], data: new Float32Array(1) }]]));
    await expect(importHf(join(dir, 'hf'), join(dir, 'out2'))).rejects.toThrow(/unexpected tensor model\.extra\.weight/);
    rmSync(join(dir, 'hf', 'model.safetensors'));
    writeFileSync(join(dir, 'hf', 'pytorch_model.bin'), '');
    await expect(importHf(join(dir, 'hf'), join(dir, 'out2'))).rejects.toThrow(/pytorch_model\.bin: PyTorch pickle weights are not read/);
  });
});

describe('GGUF export', () => {
  it('llama: metadata, tokenizer, names; q/k rows permuted to adjacent RoPE pairs; q8_0 and f16 matrices', async () => {
    const config = CONFIGS['llama tied, GQA'];
    const model = testModel(config);
    const D = config.nEmbd / config.nHead;
    for (const dtype of ['f32', 'f16', 'q8_0'] as const) {
      const path = join(root, `llama-${dtype}.gguf`);
      exportGguf(model, tok, path, dtype, { name: 'test', chatTemplate: '{{ messages }}' });
      const g = decodeGguf(readFileSync(path), path);
      const m = g.metadata;
      expect(m.get('general.architecture')).toBe('llama');
      expect(m.get('general.file_type')).toBe({ f32: 0, f16: 1, q8_0: 7 }[dtype]);
      expect(m.get('llama.attention.head_count_kv')).toBe(2);
      expect(m.get('llama.rope.dimension_count')).toBe(D);
      expect(m.get('tokenizer.ggml.pre')).toBe('dbrx');
      expect(m.get('tokenizer.chat_template')).toBe('{{ messages }}');
      const tokens = m.get('tokenizer.ggml.tokens') as string[];
      expect(tokens).toHaveLength(config.vocabSize);
      expect(tokens[tok.specialTokens.get('<|bos|>')!]).toBe('<|bos|>');
      expect(tokens[tok.vocabSize]).toBe(`[PAD${tok.vocabSize}]`);
      expect(m.get('tokenizer.ggml.bos_token_id')).toBe(tok.specialTokens.get('<|bos|>'));
      expect((m.get('tokenizer.ggml.merges') as string[]).length).toBe(tok.model.merges.length);
      const names = g.tensors.map((t) => t.name);
      expect(names).toContain('blk.1.ffn_gate.weight');
      expect(names).not.toContain('output.weight'); // tied: llama.cpp reuses token_embd
      const k = g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!;
      expect(k.shape).toEqual([config.nKvHead * D, config.nEmbd]);
      expect(k.type).toBe({ f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0 }[dtype]);
      expect(g.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')!.type).toBe(GgmlType.F32);
      if (dtype === 'f32') {
        const kOurs = model.params.get('model.layers.0.self_attn.k_proj.weight').data;
        const kFile = new Float32Array(Uint8Array.from(k.data).buffer);
        // head 1, pair 3: rows 2·3 and 2·3+1 of the file are rows 3 and 3 + D/2 of ours.
        const row = (a: Float32Array, r: number): Float32Array => a.subarray(r * config.nEmbd, (r + 1) * config.nEmbd);
        expect(row(kFile, D + 6)).toEqual(row(kOurs, D + 3));
        expect(row(kFile, D + 7)).toEqual(row(kOurs, D + 3 + D / 2));
        expect(permuteRope(kOurs, config.nKvHead, D, config.nEmbd)).toEqual(kFile);
      }
    }
  });

  it('gpt2: zero biases for a bias-free model, output only when untied; pre-tokenizer per pattern', async () => {
    const path = join(root, 'gpt2.gguf');
    const gpt2Tok = await testTokenizer('gpt2');
    exportGguf(testModel(CONFIGS['gpt2 tied, no biases']), gpt2Tok, path, 'f32', { name: 't', chatTemplate: null });
    const g = decodeGguf(readFileSync(path), path);
    expect(g.metadata.get('tokenizer.ggml.pre')).toBe('gpt-2');
    expect(g.metadata.has('tokenizer.chat_template')).toBe(false);
    const qkvBias = g.tensors.find((t) => t.name === 'blk.0.attn_qkv.bias')!;
    expect(qkvBias.shape).toEqual([3 * 64]);
    expect(qkvBias.data.every((b) => b === 0)).toBe(true);
    expect(g.tensors.find((t) => t.name === 'blk.1.ffn_up.bias')!.shape).toEqual([128]);
    expect(g.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    exportGguf(testModel(CONFIGS['gpt2 untied, biases']), gpt2Tok, path, 'q8_0', { name: 't', chatTemplate: null });
    expect(decodeGguf(readFileSync(path), path).tensors.find((t) => t.name === 'output.weight')?.type).toBe(GgmlType.Q8_0);
    const custom = await (await import('../src/tokenizer/index.js')).trainTokenizer({ texts: ['ab ab'], vocabSize: 270, pattern: String.raw`\w+|\W+`, progress: false });
    expect(() => llamaCppPreTokenizer(custom)).toThrow(/custom split pattern .* has no llama\.cpp pre-tokenizer/);
  });
});

describe('llmforge export / import CLI', () => {
  let run = '';
  beforeAll(() => {
    run = join(root, 'cli-run');
    saveTestCheckpoint(run, testModel(CONFIGS['llama tied, GQA']), tok);
  });

  it('exports both formats and imports back (--json records)', async () => {
    const { stdout } = await runCli(['export', '--model', run, '--format', 'gguf', '--dtype', 'q8_0', '--out', join(root, 'cli.gguf'), '--json']);
    expect(JSON.parse(stdout)).toMatchObject({ command: 'export', format: 'gguf', dtype: 'q8_0', family: 'llama' });
    expect(decodeGguf(readFileSync(join(root, 'cli.gguf')), 'cli.gguf').metadata.get('tokenizer.chat_template')).toBe(CHAT_TEMPLATE);
    await runCli(['export', '--model', run, '--format', 'hf', '--out', join(root, 'cli-hf')]);
    const tc = JSON.parse(readFileSync(join(root, 'cli-hf', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(tc).toMatchObject({ chat_template: CHAT_TEMPLATE, bos_token: '<|bos|>', eos_token: '<|end|>', model_max_length: 64 });
    expect(JSON.parse(readFileSync(join(root, 'cli-hf', 'special_tokens_map.json'), 'utf8'))).toEqual({ bos_token: '<|bos|>', eos_token: '<|end|>', pad_token: '<|pad|>' });
    const imp = await runCli(['import', '--from', join(root, 'cli-hf'), '--out', join(root, 'cli-back'), '--json']);
    expect(JSON.parse(imp.stdout)).toMatchObject({ command: 'import', family: 'llama' });
    expect(loadModel(join(root, 'cli-back')).model.params.data).toEqual(loadModel(run).model.params.data);
  });

  it('bad flags and inputs: one error naming the flag or file', async () => {
    await expect(runCli(['export', '--model', run, '--format', 'onnx', '--out', 'x'])).rejects.toThrow(/expected hf or gguf, got 'onnx'/);
    await expect(runCli(['export', '--model', run, '--format', 'hf', '--dtype', 'q8_0', '--out', join(root, 'x')])).rejects.toThrow(/--dtype q8_0: not available for --format hf \(choose f32, f16, bf16\)/);
    await expect(runCli(['export', '--model', run, '--format', 'gguf', '--dtype', 'int4', '--out', join(root, 'x.gguf')])).rejects.toThrow(/--dtype int4: not available for --format gguf/);
    await expect(runCli(['export', '--model', join(root, 'nope'), '--format', 'gguf', '--out', join(root, 'x.gguf')])).rejects.toThrow(/nope: no such directory/);
    await expect(runCli(['export', '--model', run, '--out', join(root, 'x.gguf')])).rejects.toThrow(/--format is required/);
    await expect(runCli(['export', '--model', run, '--format', 'gguf'])).rejects.toThrow(/--out is required/);
    await expect(runCli(['export', '--model', run, '--format', 'gguf', '--out', root])).rejects.toThrow(/--out .*: is a folder/);
    await expect(runCli(['import', '--out', join(root, 'y')])).rejects.toThrow(/--from is required/);
    await expect(runCli(['import', '--from', join(root, 'nope'), '--out', join(root, 'y')])).rejects.toThrow(/--from .*nope: no such folder/);
    const hf = join(root, 'cli-hf');
    const cfg = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(hf, 'config.json'), JSON.stringify({ ...cfg, architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox' }));
    await expect(runCli(['import', '--from', hf, '--out', join(root, 'y')])).rejects.toThrow(/unsupported architecture GPTNeoXForCausalLM \(model_type gpt_neox\)/);
    expect(existsSync(join(root, 'y'))).toBe(false);
  });
});
