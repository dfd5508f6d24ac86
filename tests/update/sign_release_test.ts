import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSigningKey, parseSums, sha256Hex, verify } from "../../lib/update/signing.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/sign_release.ts", import.meta.url));

Deno.test("sign_release.ts writes SHA256SUMS and a signature the verifier accepts, and only that", async () => {
  const key = await generateSigningKey();
  const other = await generateSigningKey();
  const dist = await Deno.makeTempDir({ prefix: "autoscaler-dist-" });
  try {
    await Deno.writeTextFile(join(dist, "autoscaler-linux-x64"), "x64 binary");
    await Deno.writeTextFile(join(dist, "autoscaler-linux-arm64"), "arm64 binary");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-read=${dist}`,
        `--allow-write=${dist}`,
        "--allow-env=RELEASE_SIGNING_KEY",
        SCRIPT,
        dist,
      ],
      env: { RELEASE_SIGNING_KEY: key.privateKey },
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const sums = await Deno.readTextFile(join(dist, "SHA256SUMS"));
    const signature = await Deno.readTextFile(join(dist, "SHA256SUMS.sig"));
    assert.deepEqual([...parseSums(sums).entries()], [
      ["autoscaler-linux-arm64", await sha256Hex(new TextEncoder().encode("arm64 binary"))],
      ["autoscaler-linux-x64", await sha256Hex(new TextEncoder().encode("x64 binary"))],
    ]);
    assert.equal(await verify(key.publicKey, sums, signature), true);
    const flipped = sums.replace(/^(.)/, (c) => (c === "a" ? "b" : "a"));
    assert.equal(await verify(key.publicKey, flipped, signature), false, "a flipped byte");
    assert.equal(await verify(other.publicKey, sums, signature), false, "another key");
    assert.equal(await verify(key.publicKey, sums, "not base64!"), false, "garbage");
  } finally {
    await Deno.remove(dist, { recursive: true });
  }
});

Deno.test("sign_release.ts without a key says how to call it", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-env=RELEASE_SIGNING_KEY", SCRIPT, "dist"],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "" },
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /usage: RELEASE_SIGNING_KEY=/);
});

Deno.test("self-update from source explains itself and exits 2", async () => {
  const { runCli } = await import("../helpers/cli.ts");
  const { code, stdout, stderr } = await runCli(["self-update", "--check"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /^error: self-update replaces compiled binaries only; .* update it with git/,
  );
});
