import { join } from "node:path";
import { makeFakeBin } from "./fake_bin.ts";

/** What an injected docker fault does: fail at once, or hang until killed. */
export type DockerFaultMode = "fail" | "hang";

/** The real docker CLI in front of which a faulty one is put, failing on demand. */
export interface FaultyDocker {
  /** The directory to put first on PATH. */
  bin: string;
  /**
   * The next `times` calls of `docker <subcommand>` (`run`, `inspect`, `rm`, `ps`, `image`)
   * fail with docker's words for an engine error, or hang.
   */
  inject(subcommand: string, mode: DockerFaultMode, times: number): Promise<void>;
  /** Ends every injected fault. */
  clear(): Promise<void>;
  /** The calls that met a fault, one line each. */
  injected(): Promise<string[]>;
  remove(): Promise<void>;
}

/** A `docker` that passes every call to the real one unless a fault is injected for it. */
export async function makeFaultyDocker(): Promise<FaultyDocker> {
  const real = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v docker"], stdout: "piped" }).output())
      .stdout,
  ).trim();
  if (real === "") throw new Error("no docker on PATH");
  const faults = await Deno.makeTempDir({ prefix: "autoscaler-docker-faults-" });
  const bin = await makeFakeBin({
    docker: `f='${faults}'/"$1"
if [ -f "$f" ]; then
  read -r mode n < "$f"
  if [ "$n" -gt 0 ]; then
    echo "$mode $((n - 1))" > "$f"
    echo "$mode: docker $1" >> '${faults}/injected.log'
    case "$mode" in
      fail) echo "Error response from daemon: injected fault" >&2; exit 1 ;;
      hang) exec sleep 600 ;;
    esac
  fi
fi
exec '${real}' "$@"`,
  });
  return {
    bin,
    async inject(subcommand, mode, times) {
      await Deno.writeTextFile(join(faults, subcommand), `${mode} ${times}\n`);
    },
    async clear() {
      for await (const entry of Deno.readDir(faults)) {
        if (entry.name !== "injected.log") await Deno.remove(join(faults, entry.name));
      }
    },
    async injected() {
      const text = await Deno.readTextFile(join(faults, "injected.log")).catch(() => "");
      return text.split("\n").filter((line) => line !== "");
    },
    async remove() {
      for (const dir of [bin, faults]) await Deno.remove(dir, { recursive: true });
    },
  };
}
