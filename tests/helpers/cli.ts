import { fileURLToPath } from "node:url";
import { makeFakeBin } from "./fake_bin.ts";
import { fixture } from "./fixtures.ts";
import { makeRoot } from "./roots.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** The permission flags of `deno task start`, so tests run the program as users do. */
async function startFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const start: string = config.tasks.start;
  const match = start.match(/^deno run ((?:--[\w-]+(?:=\S+)? ?)+)main\.ts$/);
  if (!match?.[1]) throw new Error(`Unexpected start task: ${start}`);
  return match[1].trim().split(" ");
}

/** The host id the programs tests start have, unless a test gives them a state directory. */
export const TEST_HOST_ID = "7e57c0de";

let testStateHome: Promise<string> | null = null;

/**
 * A state directory (as `XDG_STATE_HOME`) holding `TEST_HOST_ID`, made once per test process and
 * removed when it ends.
 */
function stateHome(): Promise<string> {
  testStateHome ??= (async () => {
    const home = await Deno.makeTempDir({ prefix: "autoscaler-state-" });
    await Deno.mkdir(`${home}/github-autoscaler`);
    await Deno.writeTextFile(`${home}/github-autoscaler/host-id`, `${TEST_HOST_ID}\n`);
    globalThis.addEventListener("unload", () => Deno.removeSync(home, { recursive: true }));
    return home;
  })();
  return testStateHome;
}

/** What a run of the CLI printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Variables a test run inherits; everything else (GH_TOKEN above all) is left out. The
 * `faketime` ones keep a shifted clock (`faketime '+400 days' deno task test`) the same in the
 * program as in the test that runs it, as it is for every process of a host.
 */
const INHERITED = [
  "HOME",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "TMPDIR",
  "LANG",
  "DOCKER_HOST",
  "LD_PRELOAD",
  "FAKETIME",
  "FAKETIME_SHARED",
];

/**
 * `main.ts` as a separate process with the start task's permissions, as users run it, in a
 * clean environment: only PATH and a few variables Deno and Docker need are inherited, and its
 * state directory is the tests' own (host id `TEST_HOST_ID`).
 * `pathPrefix` goes in front of PATH (fake executables); `env` adds variables.
 */
export async function cliCommand(
  args: string[],
  options: {
    pathPrefix?: string;
    env?: Record<string, string>;
    /** Changes the start task's runtime flags (the bench measures without the V8 flag). */
    flags?: (flags: string[]) => string[];
  } = {},
): Promise<Deno.Command> {
  const path = [options.pathPrefix, Deno.env.get("PATH")].filter(Boolean).join(":");
  const inherited = Object.fromEntries(
    INHERITED.flatMap((name) => {
      const value = Deno.env.get(name);
      return value === undefined ? [] : [[name, value]];
    }),
  );
  // A test may move HOME; Deno's cache must stay where it is, or every run downloads again.
  inherited.DENO_DIR ??= `${
    Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache`
  }/deno`;
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...(options.flags ?? ((flags) => flags))(await startFlags()),
      `${REPO}main.ts`,
      ...args,
    ],
    cwd: REPO,
    clearEnv: true,
    env: {
      ...inherited,
      NO_COLOR: "1",
      XDG_STATE_HOME: await stateHome(),
      ...options.env,
      PATH: path,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the CLI to its end (see `cliCommand`). */
export async function runCli(
  args: string[],
  options: { pathPrefix?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const output = await (await cliCommand(args, options)).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A fixture x64, CPU-only host: its root (`--root`), fake tools first on PATH, a gh config. */
export interface X64Host {
  root: string;
  bin: string;
  ghConfig: string;
  remove(): Promise<void>;
}

/** Lays out an x64, CPU-only host; `tools` replace or add fake executables. */
export async function makeX64Host(tools: Record<string, string> = {}): Promise<X64Host> {
  const root = await makeRoot({
    "proc/cpuinfo": await fixture("cpuinfo/x86_64_amd_epyc_9654_head.txt"),
    "proc/meminfo": await fixture("cpuinfo/meminfo_x86_64_16GB.txt"),
  });
  const gone = 'echo "not installed in this test" >&2\nexit 127';
  const bin = await makeFakeBin({
    "nvidia-smi": gone,
    rocminfo: gone,
    // An engine with no containers: `ps` lists none, anything else answers its version.
    docker: 'case "$1" in ps) ;; *) echo 20.10.24 ;; esac',
    ...tools,
  });
  const ghConfig = await Deno.makeTempDir();
  return {
    root,
    bin,
    ghConfig,
    async remove() {
      for (const dir of [root, bin, ghConfig]) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A CLI process whose stderr is collected as it comes. */
export interface Running {
  child: Deno.ChildProcess;
  /** The stderr so far. */
  log(): string;
  /** Waits until the log matches, or throws with the log after `seconds`. */
  waitFor(pattern: RegExp, seconds?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (unless it has ended), then its exit code once its output is read. */
  stop(): Promise<number>;
}

/** Starts the CLI (see `cliCommand`) and collects its stderr. */
export async function spawnCli(
  args: string[],
  options: { pathPrefix?: string; env?: Record<string, string> } = {},
): Promise<Running> {
  const child = (await cliCommand(args, options)).spawn();
  child.stdout.cancel();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  let ended = false;
  const status = child.status.then((s) => {
    ended = true;
    return s;
  });
  return {
    child,
    log: () => log,
    async waitFor(pattern, seconds = 20) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const match = log.match(pattern);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!ended) child.kill("SIGTERM");
      const { code } = await status;
      await reading;
      return code;
    },
  };
}

/** Runs the CLI as an x64, CPU-only host (fixture root, fake tools) with a clean gh config. */
export async function asX64Host(
  args: string[],
  env: Record<string, string> = {},
  tools: Record<string, string> = {},
) {
  const host = await makeX64Host(tools);
  try {
    return await runCli([...args, "--root", host.root], {
      pathPrefix: host.bin,
      env: { GH_CONFIG_DIR: host.ghConfig, ...env },
    });
  } finally {
    await host.remove();
  }
}
