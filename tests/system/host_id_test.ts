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

Deno.test("host id: an empty file (a crash before it was written whole) gets a new id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/host-id`, "");
    const id = await hostId(dir);
    assert.match(id, /^[0-9a-f]{8}$/);
    assert.equal(await Deno.readTextFile(`${dir}/host-id`), `${id}\n`);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["host-id"],
      "no temporary left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state directory: the service's and a command's by hand are the same for one user", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  // The system unit's StateDirectory= sets STATE_DIRECTORY; root by hand lands on the same.
  assert.equal(
    stateDirectory(env({ STATE_DIRECTORY: "/var/lib/github-autoscaler:/other" }), 61234),
    "/var/lib/github-autoscaler",
  );
  assert.equal(stateDirectory(env({ HOME: "/root" }), 0), "/var/lib/github-autoscaler");
  // The user unit writes ~/.local/state/github-autoscaler, which the user's commands use too.
  assert.equal(stateDirectory(env({ HOME: "/h" }), 1000), "/h/.local/state/github-autoscaler");
  assert.equal(
    stateDirectory(env({ XDG_STATE_HOME: "/s", HOME: "/h" }), 0),
    "/s/github-autoscaler",
  );
  assert.equal(stateDirectory(env({}), 1000), "/var/lib/github-autoscaler");
});
