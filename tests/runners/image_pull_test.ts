import assert from "node:assert/strict";
import { makeX64Host, spawnCli } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

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

Deno.test("faults: an image removed while the daemon runs is pulled again before the next start", async () => {
  await withSimulator(async (sim) => {
    const dir = await Deno.makeTempDir();
    const host = await makeX64Host({ docker: dockerWithImageFile(dir) });
    await Deno.writeTextFile(`${dir}/image`, "");
    sim.world.addRepo("acme/api", { org: true });
    const daemon = await spawnCli(
      ["run", "--api-url", sim.url, "--interval", "0.5", "--max-runners", "4", "--root", host.root],
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
      sim.world.addRun("acme/api", { name: "CI", jobs: [{ name: "a", labels: ["self-hosted"] }] });
      await until("first start", async () => (await calls()).includes("run"));
      await Deno.remove(`${dir}/image`); // docker image prune -a
      sim.world.addRun("acme/api", { name: "CI", jobs: [{ name: "b", labels: ["self-hosted"] }] });
      await until(
        "a pull and a start",
        async () => /^run\n(run\n)*pull\nrun\n/.test(await calls()),
      );
      assert.doesNotMatch(await calls(), /without --pull never/);
    } finally {
      await daemon.stop();
      await host.remove();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
