/** The JS reference kernels: the readable specification every native kernel must match. */
import type { Kernels } from '../kernels.js';
import { matmul } from './matmul.js';
import { attentionForward, attentionBackward, attentionCached } from './attention.js';
import { embeddingForward, embeddingBackward } from './embedding.js';
import { layernormForward, layernormBackward, rmsnormForward, rmsnormBackward } from './norms.js';
import {
  geluForward, geluBackward, siluForward, siluBackward, swigluForward, swigluBackward,
} from './activations.js';
import { ropeForward, ropeBackward } from './rope.js';
import { crossEntropyForwardBackward, logprobForward, logprobBackward } from './loss.js';
import {
  add, mul, mulBackward, axpy, scaleInPlace, addBias, biasBackward, sum, sumSquares,
} from './elementwise.js';
import { adamw } from './adamw.js';
import { segmentSumForward, segmentSumBackward, preferenceLoss, rowDotForward, rowDotBackward } from './preference.js';

export const refKernels: Kernels = {
  matmul,
  embeddingForward, embeddingBackward,
  layernormForward, layernormBackward, rmsnormForward, rmsnormBackward,
  geluForward, geluBackward, siluForward, siluBackward, swigluForward, swigluBackward,
  ropeForward, ropeBackward,
  attentionForward, attentionBackward, attentionCached,
  crossEntropyForwardBackward, logprobForward, logprobBackward,
  add, mul, mulBackward, axpy, scaleInPlace, addBias, biasBackward, sum, sumSquares,
  adamw,
  segmentSumForward, segmentSumBackward, preferenceLoss, rowDotForward, rowDotBackward,
};
