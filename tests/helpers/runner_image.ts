import { fileURLToPath } from "node:url";
import { join } from "node:path";

const SCRIPTS = ["run.sh", "config.sh"].map((name) => ({
  name,
  path: fileURLToPath(new URL(`../runner_image/${name}`, import.meta.url)),
}));

/**
 * The stand-in runner image the Docker tests start (built locally: no registry is reachable),
 * tagged with a digest of its script so a changed script makes a new image.
 */
export const TEST_IMAGE = `autoscaler-test-runner:${await digest()}`;

async function digest(): Promise<string> {
  const texts = await Promise.all(SCRIPTS.map(({ path }) => Deno.readTextFile(path)));
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(texts.join("\0")));
  return [...new Uint8Array(hash)].slice(0, 6).map((b) => b.toString(16).padStart(2, "0")).join("");
}
const APPLETS = [
  "sh",
  "base64",
  "sed",
  "sleep",
  "wget",
  "id",
  "cat",
  "echo",
  "printf",
  "env",
  "rm",
];

async function docker(
  args: string[],
  stdin?: Uint8Array,
  host?: string,
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command("docker", {
    args,
    env: host ? { DOCKER_HOST: host } : {},
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  return child.output();
}

/**
 * Builds `TEST_IMAGE` once per engine with `docker import`: a root of Debian's static busybox,
 * a `runner` user (uid 1001, as in the official image) and the stand-in `/home/runner/run.sh`
 * and `config.sh`. `host` names another engine than `DOCKER_HOST`'s.
 */
export async function ensureTestImage(host?: string): Promise<void> {
  if ((await docker(["image", "inspect", TEST_IMAGE], undefined, host)).success) return;
  const root = await Deno.makeTempDir({ prefix: "autoscaler-image-" });
  try {
    for (const dir of ["bin", "etc", "home/runner", "tmp"]) {
      await Deno.mkdir(join(root, dir), { recursive: true });
    }
    await Deno.chmod(join(root, "tmp"), 0o1777);
    await Deno.copyFile("/bin/busybox", join(root, "bin/busybox"));
    for (const applet of APPLETS) await Deno.symlink("busybox", join(root, "bin", applet));
    await Deno.writeTextFile(
      join(root, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nrunner:x:1001:1001:runner:/home/runner:/bin/sh\n",
    );
    await Deno.writeTextFile(join(root, "etc/group"), "root:x:0:\nrunner:x:1001:\n");
    for (const { name, path } of SCRIPTS) {
      await Deno.copyFile(path, join(root, "home/runner", name));
      await Deno.chmod(join(root, "home/runner", name), 0o755);
    }
    const tar = await new Deno.Command("tar", {
      args: ["-C", root, "--owner=0", "--group=0", "-cf", "-", "."],
      stdout: "piped",
    }).output();
    const imported = await docker(
      ["import", "--change", "USER 1001", "--change", "WORKDIR /home/runner", "-", TEST_IMAGE],
      tar.stdout,
      host,
    );
    if (!imported.success) {
      throw new Error(`docker import failed: ${new TextDecoder().decode(imported.stderr)}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
