/**
 * Writes SHA256SUMS for the files in a directory and SHA256SUMS.sig, the Ed25519 signature of it
 * made with the private key in RELEASE_SIGNING_KEY (base64 PKCS#8, from release_keygen.ts).
 *
 *   RELEASE_SIGNING_KEY=... deno run --allow-read=dist --allow-write=dist \
 *     --allow-env=RELEASE_SIGNING_KEY scripts/sign_release.ts dist
 */
import { join } from "node:path";
import { renderSums, sha256Hex, sign } from "../lib/update/signing.ts";

const dir = Deno.args[0];
const key = Deno.env.get("RELEASE_SIGNING_KEY");
if (!dir || !key) {
  console.error("usage: RELEASE_SIGNING_KEY=<base64 PKCS#8> sign_release.ts <directory>");
  Deno.exit(2);
}
const sums: Record<string, string> = {};
for await (const entry of Deno.readDir(dir)) {
  if (!entry.isFile || entry.name.startsWith("SHA256SUMS")) continue;
  sums[entry.name] = await sha256Hex(await Deno.readFile(join(dir, entry.name)));
}
if (Object.keys(sums).length === 0) {
  console.error(`no files to sign in ${dir}`);
  Deno.exit(1);
}
const text = renderSums(sums);
await Deno.writeTextFile(join(dir, "SHA256SUMS"), text);
await Deno.writeTextFile(join(dir, "SHA256SUMS.sig"), `${await sign(key, text)}\n`);
console.log(text.trimEnd());
