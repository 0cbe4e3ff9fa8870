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

  private buf = '';

  /** Queues one event; events queued in the same tick go out in one socket write. */
  send(data: unknown): void {
    this.sendJson(JSON.stringify(data));
  }

  /** Like send, for a chunk already serialized. */
  sendJson(json: string): void {
    if (this.ended) return;
    if (this.buf === '') queueMicrotask(() => this.flush());
    this.buf += `data: ${json}\n\n`;
  }

  private flush(): void {
    const b = this.buf;
    this.buf = '';
    if (b !== '' && !this.reply.raw.destroyed) this.reply.raw.write(b);
  }

  /** Ends the stream; `done` writes the final `data: [DONE]`. */
  end(done: boolean): void {
    if (this.ended) return;
    if (done) this.sendJson('[DONE]');
    this.flush();
    this.ended = true;
    if (!this.reply.raw.destroyed) this.reply.raw.end();
  }
}
