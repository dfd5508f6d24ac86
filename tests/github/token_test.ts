import assert from "node:assert/strict";
import { join } from "node:path";
import { apiBaseUrl } from "../../lib/github/api_url.ts";
import { AuthError } from "../../lib/github/errors.ts";
import { findToken } from "../../lib/github/token.ts";
import { UsageError } from "../../lib/core/errors.ts";
import type { CommandRunner } from "../../lib/system/command.ts";
import { runCommand } from "../../lib/system/command.ts";

/** Runs the real `gh` with its configuration in `configDir` and nothing from the outer env. */
function realGh(configDir: string): CommandRunner {
  return async (command, args, options) => {
    if (command !== "gh") return runCommand(command, args, options);
    const output = await new Deno.Command("gh", {
      args: [...args],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "", HOME: configDir, GH_CONFIG_DIR: configDir },
      stdout: "piped",
      stderr: "piped",
    }).output().catch(() => null);
    if (output === null) return { kind: "not-found" };
    const text = new TextDecoder();
    return {
      kind: "exited",
      code: output.code,
      stdout: text.decode(output.stdout),
      stderr: text.decode(output.stderr),
    };
  };
}

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("token: GH_TOKEN first, then GITHUB_TOKEN, without asking gh", async () => {
  const config = await Deno.makeTempDir();
  try {
    const gh = realGh(config);
    assert.deepEqual(await findToken(env({ GH_TOKEN: "a", GITHUB_TOKEN: "b" }), gh), {
      token: "a",
      source: "GH_TOKEN",
    });
    assert.deepEqual(await findToken(env({ GITHUB_TOKEN: "b" }), gh), {
      token: "b",
      source: "GITHUB_TOKEN",
    });
    assert.deepEqual(await findToken(env({ GH_TOKEN: " ", GITHUB_TOKEN: "b" }), gh), {
      token: "b",
      source: "GITHUB_TOKEN",
    });
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});

Deno.test("token: from the real gh's login when no variable is set", async () => {
  const config = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(config, "hosts.yml"),
      "github.com:\n    oauth_token: gho_fromgh\n    user: octo\n    git_protocol: https\n",
    );
    assert.deepEqual(await findToken(env({}), realGh(config)), {
      token: "gho_fromgh",
      source: "gh auth token",
    });
    await assert.rejects(
      findToken(env({ GH_HOST: "ghe.example.com" }), realGh(config)),
      (error: unknown) =>
        error instanceof AuthError &&
        /gh auth login --hostname ghe\.example\.com/.test(error.message),
    );
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});

Deno.test("token: none anywhere is one clear AuthError with gh's own words", async () => {
  const config = await Deno.makeTempDir();
  try {
    await assert.rejects(findToken(env({}), realGh(config)), (error: unknown) => {
      assert.ok(error instanceof AuthError);
      assert.match(
        error.message,
        /^No GitHub token: set GH_TOKEN or GITHUB_TOKEN, or run `gh auth login`/,
      );
      assert.match(error.message, /gh exited with code 1: no oauth token/);
      return true;
    });
    const noGh: CommandRunner = () => Promise.resolve({ kind: "not-found" });
    await assert.rejects(findToken(env({}), noGh), /gh not found on PATH/);
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});

Deno.test("API base: --api-url, GITHUB_API_URL, GH_HOST, then api.github.com", () => {
  assert.equal(apiBaseUrl(undefined, env({})), "https://api.github.com");
  assert.equal(apiBaseUrl(undefined, env({ GH_HOST: "github.com" })), "https://api.github.com");
  assert.equal(apiBaseUrl(undefined, env({ GH_HOST: "ghe.corp" })), "https://ghe.corp/api/v3");
  assert.equal(
    apiBaseUrl(undefined, env({ GH_HOST: "ghe.corp", GITHUB_API_URL: "https://x.corp/api/v3/" })),
    "https://x.corp/api/v3",
  );
  assert.equal(
    apiBaseUrl("http://127.0.0.1:8080", env({ GITHUB_API_URL: "https://x.corp" })),
    "http://127.0.0.1:8080",
  );
  assert.equal(apiBaseUrl("http://localhost:1/", env({})), "http://localhost:1");
});

Deno.test("API base: plain http only to loopback, and it must be a URL", () => {
  assert.throws(() => apiBaseUrl("http://ghe.corp", env({})), UsageError);
  assert.throws(() => apiBaseUrl("http://10.0.0.1", env({})), /plain http only to localhost/);
  assert.throws(() => apiBaseUrl(undefined, env({ GITHUB_API_URL: "ftp://x" })), /GITHUB_API_URL/);
  assert.throws(() => apiBaseUrl("not a url", env({})), /not a URL/);
});
