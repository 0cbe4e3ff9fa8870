/**
 * Server-sent events the way OpenAI streams: `data: {json}\n\n` per chunk and `data: [DONE]`
 * at the end. The reply is taken over from fastify (hijack), so headers set earlier by hooks
 * (CORS) are copied onto the raw response.
 */
import type { FastifyReply } from 'fastify';

export class SseStream {
  private ended = false;

  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    const raw = reply.raw;
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) raw.setHeader(k, typeof v === 'number' ? String(v) : v);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx buffers proxied responses unless told not to.
      'x-accel-buffering': 'no',
    });
    raw.flushHeaders();
  }

  send(data: unknown): void {
    if (this.ended || this.reply.raw.destroyed) return;
    this.reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream; `done` writes the final `data: [DONE]`. */
  end(done: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (this.reply.raw.destroyed) return;
    if (done) this.reply.raw.write('data: [DONE]\n\n');
    this.reply.raw.end();
  }
}
