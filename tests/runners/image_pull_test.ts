import assert from "node:assert/strict";
import { makeX64Host, spawnCli } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";

/**
 * A docker whose image is present while `<dir>/image` exists; `pull` makes it and `run` fails
 * when it is missing and the call does not forbid pulling (docker would pull under our timeout).
 */
function dockerWithImageFile(dir: string): string {
  return `case "$1" in
  ps) ;;
  image) [ -e '${dir}/image' ] ;;
  pull) touch '${dir}/image'; echo pull >> '${dir}/calls' ;;
  run)
    case "$*" in *"--pull never"*) ;; *) echo "run without --pull never" >> '${dir}/calls' ;; esac
    [ -e '${dir}/image' ] || { echo "Unable to find image locally" >&2; exit 125; }
    echo run >> '${dir}/calls'; echo c0ffee ;;
  rm) ;;
  *) echo 20.10.24 ;;
esac`;
}

/**
 * A daemon on a host whose docker is `dockerWithImageFile`, the image there from the start when
 * `present`; `fn` gets the docker calls so far and a way to wait for them.
 */
async function withImageFile(
  present: boolean,
  fn: (
    sim: GitHubSimulator,
    dir: string,
    calls: () => Promise<string>,
    until: (what: string, done: () => Promise<boolean>) => Promise<void>,
  ) => Promise<void>,
) {
  await withSimulator(async (sim) => {
    const dir = await Deno.makeTempDir();
    const host = await makeX64Host({ docker: dockerWithImageFile(dir) });
    if (present) await Deno.writeTextFile(`${dir}/image`, "");
    sim.world.addRepo("acme/api", { org: true });
    const daemon = await spawnCli(
      // Without caches, whose volumes' preparation is a docker run of its own.
      [
        "run",
        "--api-url",
        sim.url,
        "--interval",
        "0.5",
        "--max-runners",
        "4",
        "--root",
        host.root,
        "--no-cache",
      ],
      { pathPrefix: host.bin, env: { GH_TOKEN: TOKEN } },
    );
    const calls = () => Deno.readTextFile(`${dir}/calls`).catch(() => "");
    const until = async (what: string, done: () => Promise<boolean>) => {
      const deadline = Date.now() + 15_000;
      while (!(await done())) {
        if (Date.now() > deadline) {
          throw new Error(`no ${what}; calls:\n${await calls()}\n${daemon.log()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await fn(sim, dir, calls, until);
    } finally {
      await daemon.stop();
      await host.remove();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a missing image is pulled as the daemon starts, before any job needs it", async () => {
  await withImageFile(false, async (sim, _dir, calls, until) => {
    await until("a pull", async () => (await calls()) === "pull\n");
    sim.world.addRun("acme/api", { name: "CI", jobs: [{ name: "a", labels: ["self-hosted"] }] });
    await until("a start", async () => (await calls()).includes("run"));
    assert.equal(await calls(), "pull\nrun\n");
  });
});

Deno.test("faults: an image removed while the daemon runs is pulled again before the next start", async () => {
  await withImageFile(true, async (sim, dir, calls, until) => {
    sim.world.addRun("acme/api", { name: "CI", jobs: [{ name: "a", labels: ["self-hosted"] }] });
    await until("first start", async () => (await calls()).includes("run"));
    await Deno.remove(`${dir}/image`); // docker image prune -a
    sim.world.addRun("acme/api", { name: "CI", jobs: [{ name: "b", labels: ["self-hosted"] }] });
    await until(
      "a pull and a start",
      async () => /^run\n(run\n)*pull\nrun\n/.test(await calls()),
    );
    assert.doesNotMatch(await calls(), /without --pull never/);
  });
});
