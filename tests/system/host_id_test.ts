import assert from "node:assert/strict";
import { hostId, stateDirectory } from "../../lib/system/host_id.ts";

Deno.test("host id: made once, kept, and different for another state directory", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    const first = await hostId(`${a}/github-autoscaler`);
    assert.match(first, /^[0-9a-f]{8}$/);
    assert.equal(await hostId(`${a}/github-autoscaler`), first, "it survives a restart");
    assert.equal(await Deno.readTextFile(`${a}/github-autoscaler/host-id`), `${first}\n`);
    const [x, y] = await Promise.all([hostId(`${b}/s`), hostId(`${b}/s`)]);
    assert.equal(x, y, "two daemons starting at once agree");
    assert.notEqual(x, first);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("host id: a damaged file or an unwritable directory is an error with the fix", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/host-id`, "not an id\n");
    await assert.rejects(hostId(dir), /host-id holds "not an id", not 8 hex digits: remove it/);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(
      hostId(`${dir}/file/state`),
      /Cannot keep this host's identity in .*file\/state\/host-id: .*set STATE_DIRECTORY or XDG_STATE_HOME/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state directory: systemd's, else XDG's, else the home's", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    stateDirectory(env({ STATE_DIRECTORY: "/var/lib/x:/other", HOME: "/h" })),
    "/var/lib/x",
  );
  assert.equal(stateDirectory(env({ XDG_STATE_HOME: "/s", HOME: "/h" })), "/s/github-autoscaler");
  assert.equal(stateDirectory(env({ HOME: "/h" })), "/h/.local/state/github-autoscaler");
  assert.equal(stateDirectory(env({})), "/var/lib/github-autoscaler");
});
