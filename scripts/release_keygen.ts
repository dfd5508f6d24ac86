/**
 * Makes the release signing key pair. Writes the public key into lib/update/release_key.ts (commit
 * it) and prints the private key once, for the repository secret RELEASE_SIGNING_KEY. Keep no
 * other copy of the private key.
 *
 *   deno run --allow-write=lib/update/release_key.ts scripts/release_keygen.ts
 */
import { generateSigningKey } from "../lib/update/signing.ts";

const { publicKey, privateKey } = await generateSigningKey();
await Deno.writeTextFile(
  new URL("../lib/update/release_key.ts", import.meta.url),
  `/** The Ed25519 public key (raw, base64) that release checksums must be signed with. */\n` +
    `export const RELEASE_PUBLIC_KEY = "${publicKey}";\n`,
);
console.log("Wrote the public key to lib/update/release_key.ts: commit it.");
console.log("Store this private key as the repository secret RELEASE_SIGNING_KEY:");
console.log(privateKey);
