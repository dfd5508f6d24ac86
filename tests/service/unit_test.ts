import assert from "node:assert/strict";
import { UsageError } from "../../lib/core/errors.ts";
import {
  execStartOption,
  parseEnvFile,
  quoteExecArg,
  renderEnvFile,
  renderUnit,
  UNIT_MARKER,
} from "../../lib/service/unit.ts";

const template = (scope: "user" | "system") =>
  Deno.readTextFile(new URL(`../../systemd/github-autoscaler.${scope}.service`, import.meta.url));

async function analyze(args: string[], unit: string) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/github-autoscaler.service`;
  await Deno.writeTextFile(path, unit);
  try {
    const output = await new Deno.Command("systemd-analyze", { args: [...args, path] }).output();
    const text = new TextDecoder();
    return {
      code: output.code,
      stdout: text.decode(output.stdout),
      stderr: text.decode(output.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FLAG_SETS: string[][] = [
  [],
  ["--owner=acme", "--max-runners=4"],
  ["--labels=big ram,gpu", "--repo=acme/app"],
  ['--name-prefix=a"b', "--api-url=http://127.0.0.1:8080/x%20y$HOME", "--labels=back\\slash"],
  ["--app-private-key-file=/etc/my key's dir/app.pem", "--app-id=1", "--installation-id=2"],
];

for (const scope of ["user", "system"] as const) {
  for (const flags of FLAG_SETS) {
    Deno.test(`systemd-analyze verify passes the ${scope} unit with ${JSON.stringify(flags)}`, async () => {
      const unit = renderUnit(
        await template(scope),
        ["/usr/bin/true", "run", ...flags],
        scope === "user" ? "/home/u/.config/github-autoscaler/env" : "/etc/github-autoscaler/env",
        ["/usr/local/bin"],
      );
      assert.match(unit, /^ReadWritePaths=\/usr\/local\/bin$/m);
      assert.ok(unit.startsWith(UNIT_MARKER));
      const { code, stderr } = await analyze(["verify"], unit);
      assert.equal(code, 0, stderr);
      assert.equal(stderr, "");
    });
  }
}

Deno.test("execStartOption reads back an option renderUnit quoted", async () => {
  const dir = '/srv/a "b"/x%y$z\\w';
  const unit = renderUnit(
    await template("user"),
    ["/usr/bin/true", "run", `--state-dir=${dir}`],
    null,
  );
  assert.equal(execStartOption(unit, "state-dir"), dir);
  assert.equal(execStartOption(unit, "owner"), null);
});

Deno.test("systemd-analyze verify does complain about a bad value (the check can fail)", async () => {
  const unit = renderUnit(await template("user"), ["/usr/bin/true"], null)
    .replace("Restart=always", "Restart=sometimes");
  const { stderr } = await analyze(["verify"], unit);
  assert.match(stderr, /Failed to parse service restart specifier/);
});

Deno.test("the system unit's exposure is 3.0 or below (systemd-analyze security)", async () => {
  const unit = renderUnit(await template("system"), ["/usr/bin/true", "run"], "/etc/x/env");
  const { stdout } = await analyze(["security", "--offline=yes"], unit);
  const exposure = Number(stdout.match(/Overall exposure level for .*: ([\d.]+) /)?.[1]);
  assert.ok(exposure <= 3.0, `exposure ${exposure}`);
});

Deno.test("quoteExecArg escapes what systemd would interpret", () => {
  assert.equal(quoteExecArg("plain"), '"plain"');
  assert.equal(quoteExecArg('a "b" c'), '"a \\"b\\" c"');
  assert.equal(quoteExecArg("50% of $HOME\\x"), '"50%% of $$HOME\\\\x"');
  assert.throws(() => quoteExecArg("two\nlines"), UsageError);
});

Deno.test("renderEnvFile quotes values that need it and refuses newlines", () => {
  assert.equal(
    renderEnvFile({ GH_TOKEN: "ghp_abc123", GH_HOST: "ghe.corp", X: 'a b"c' }),
    'GH_TOKEN=ghp_abc123\nGH_HOST=ghe.corp\nX="a b\\"c"\n',
  );
  assert.throws(() => renderEnvFile({ GH_TOKEN: "a\nb" }), UsageError);
});

Deno.test("parseEnvFile reads back what renderEnvFile wrote", () => {
  const vars = { GH_TOKEN: "ghp_abc123", GH_HOST: "ghe.corp", X: 'a b"c\\d', E: "" };
  assert.deepEqual(parseEnvFile(renderEnvFile(vars)), vars);
  assert.deepEqual(parseEnvFile("# a comment\nnot a line\n"), {});
});
