import type { GitHub } from "./client.ts";
import { answerOf } from "./errors.ts";

/** A cached answer, kept to reuse when GitHub says 304 Not Modified. */
interface Cached {
  etag: string;
  /** About how much memory it holds: the answer's JSON length. */
  bytes: number;
  // deno-lint-ignore no-explicit-any
  response: any;
}

/**
 * Conditional requests: every GET carries `If-None-Match` with the `etag` of its last answer, and
 * a `304` (which GitHub does not count against the rate limit) is answered from the cache. The
 * cache keeps at most `limit` answers and about `maxBytes` of them, dropping the least recently
 * used, so it cannot grow without bound however many repositories there are.
 */
export class EtagCache {
  readonly #entries = new Map<string, Cached>();
  #bytes = 0;
  hits = 0;

  constructor(readonly limit = 2000, readonly maxBytes = 16 * 1024 * 1024) {}

  /** About how much memory the cached answers hold. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Adds the behaviour to a client. */
  attach(github: GitHub): void {
    github.hook.wrap("request", async (request, options) => {
      // Downloads are streamed once; only JSON answers are kept.
      if (options.method !== "GET" || options.headers.accept === "application/octet-stream") {
        return request(options);
      }
      const key = JSON.stringify(github.request.endpoint(options).url);
      const cached = this.#entries.get(key);
      if (cached) {
        this.#entries.delete(key);
        this.#entries.set(key, cached);
        options.headers = { ...options.headers, "if-none-match": cached.etag };
      }
      try {
        const response = await request(options);
        const etag = response.headers.etag;
        if (typeof etag === "string") {
          const bytes = JSON.stringify(response.data)?.length ?? 0;
          if (bytes <= this.maxBytes / 4) this.#remember(key, { etag, bytes, response });
        }
        return response;
      } catch (error) {
        if (cached && answerOf(error).status === 304) {
          this.hits++;
          return cached.response;
        }
        throw error;
      }
    });
  }

  #remember(key: string, entry: Cached): void {
    this.#forget(key);
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    while (this.#entries.size > this.limit || this.#bytes > this.maxBytes) {
      this.#forget(this.#entries.keys().next().value as string);
    }
  }

  #forget(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#bytes -= entry.bytes;
    this.#entries.delete(key);
  }
}
