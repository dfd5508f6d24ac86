import type { GitHub } from "../github/client.ts";
import { describeError } from "../github/errors.ts";
import { UpdateError } from "./release.ts";

/**
 * Downloads a release asset through its API address (`Accept: application/octet-stream`), which
 * GitHub answers with a redirect to the bytes; the token is not sent across that redirect.
 * `onProgress` hears bytes received and the total when known. A body shorter than its declared
 * length, or one that breaks off, is an `UpdateError`.
 */
export async function downloadAsset(
  github: GitHub,
  url: string,
  name: string,
  onProgress?: (received: number, total: number | null) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  let response: Response;
  try {
    // Octokit's request follows the redirect with fetch, which drops the Authorization header
    // when the redirect leaves the API's origin.
    const answer = await github.request({
      method: "GET",
      url,
      headers: { accept: "application/octet-stream" },
      request: { parseSuccessResponseBody: false },
    });
    response = new Response(answer.data as ReadableStream<Uint8Array>);
    const declared = Number(answer.headers["content-length"]);
    return await readAll(response, name, Number.isFinite(declared) ? declared : null, onProgress);
  } catch (error) {
    if (error instanceof UpdateError) throw error;
    throw new UpdateError(`Cannot download ${name}: ${describeError(error)}`, { cause: error });
  }
}

async function readAll(
  response: Response,
  name: string,
  total: number | null,
  onProgress?: (received: number, total: number | null) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body?.getReader();
  if (!reader) throw new UpdateError(`Cannot download ${name}: the answer has no body`);
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (error) {
      throw new UpdateError(`The download of ${name} broke off after ${received} bytes`, {
        cause: error,
      });
    }
    if (step.done) break;
    chunks.push(step.value);
    received += step.value.length;
    onProgress?.(received, total);
  }
  if (total !== null && received !== total) {
    throw new UpdateError(`The download of ${name} is truncated: ${received} of ${total} bytes`);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
