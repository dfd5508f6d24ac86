/** Checksums and Ed25519 signatures of release assets (WebCrypto, no dependency). */

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
}

/** The SHA-256 of some bytes, as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `SHA256SUMS` in `sha256sum`'s format: `<hex>  <name>` a line, sorted by name. */
export function renderSums(sums: Record<string, string>): string {
  return Object.entries(sums).sort(([a], [b]) => a.localeCompare(b))
    .map(([name, hex]) => `${hex}  ${name}\n`).join("");
}

/** Reads `SHA256SUMS`; lines that are not `<64 hex>  <name>` are ignored. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = line.match(/^([0-9a-f]{64}) [ *](.+)$/);
    if (match?.[1] && match[2]) sums.set(match[2], match[1]);
  }
  return sums;
}

/** A fresh Ed25519 key pair: the public key raw and the private key PKCS#8, both base64. */
export async function generateSigningKey(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return {
    publicKey: toBase64(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))),
    privateKey: toBase64(new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey))),
  };
}

/** The base64 Ed25519 signature of `data` with a base64 PKCS#8 private key. */
export async function sign(privateKey: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("pkcs8", fromBase64(privateKey), "Ed25519", false, [
    "sign",
  ]);
  return toBase64(new Uint8Array(await crypto.subtle.sign("Ed25519", key, encoder.encode(data))));
}

/** Whether `signature` (base64) is the Ed25519 signature of `data` by the raw `publicKey`. */
export async function verify(publicKey: string, data: string, signature: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", fromBase64(publicKey), "Ed25519", false, [
      "verify",
    ]);
    return await crypto.subtle.verify("Ed25519", key, fromBase64(signature), encoder.encode(data));
  } catch {
    return false;
  }
}
