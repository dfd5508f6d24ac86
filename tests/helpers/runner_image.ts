import { fileURLToPath } from "node:url";
import { join } from "node:path";

const SCRIPTS = ["run.sh", "config.sh"].map((name) => ({
  name,
  path: fileURLToPath(new URL(`../runner_image/${name}`, import.meta.url)),
}));

/**
 * The stand-in runner image the Docker tests start (built locally: no registry is reachable),
 * tagged with a digest of its scripts and builder so a change makes a new image.
 */
export const TEST_IMAGE = `autoscaler-test-runner:${await digest()}`;

/** A digest of the stand-in scripts and of this builder, so a change makes new images. */
async function digest(): Promise<string> {
  const texts = await Promise.all(
    [...SCRIPTS.map(({ path }) => path), fileURLToPath(import.meta.url)].map((path) =>
      Deno.readTextFile(path)
    ),
  );
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
  "mv",
  "tail",
  "mkdir",
  "touch",
  "sha256sum",
  "cut",
  "chown",
  "ls",
  "xargs",
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
  await ensureImage(TEST_IMAGE, host, async () => {});
}

/**
 * The stand-in for the profiles: `TEST_IMAGE`'s root plus the host's real `sudo` (with a
 * sudoers file like the official image's: group `sudo` without a password) and util-linux
 * `setpriv`, each with the libraries it loads, and `runner` in the groups `sudo` (27) and
 * `docker` (123), as in the official image. Its `dockerd` and `docker` stand in for the engine
 * of a `docker` profile runner (sysbox is not installed on our machines): `docker info`
 * answers, nothing more. Needs Debian's `sudo` (`PROFILE_IMAGE_MISSING` says why not).
 */
export const PROFILE_IMAGE = `autoscaler-test-runner-profiles:${await digest()}`;

/** Why `PROFILE_IMAGE` cannot be built here, or null. */
export const PROFILE_IMAGE_MISSING: string | null = await (async () => {
  for (const path of ["/usr/bin/sudo", "/usr/bin/setpriv", "/usr/libexec/sudo/sudoers.so"]) {
    if (!(await Deno.stat(path).then(() => true, () => false))) {
      return `${path} is missing (Debian's sudo and util-linux)`;
    }
  }
  return null;
})();

/**
 * The stand-in `docker` of the profile image: `info` answers; containers, networks and volumes
 * are files below `/var/lib/docker/standin/`, which `ps -aq`, `rm -f`, `network prune -f` and
 * `volume prune -af` list and remove; images (`standin/images/`) are left alone.
 */
const STANDIN_DOCKER = `#!/bin/sh
d=/var/lib/docker/standin
case "$1 $2" in
  "info "*) exit 0 ;;
  "ps "*) ls "$d/containers" 2>/dev/null; exit 0 ;;
  "rm "*) shift; for a; do case "$a" in -*) ;; *) rm -f "$d/containers/$a" ;; esac; done ;;
  "network prune"|"volume prune") rm -f "$d/$1s"/* ;;
  "swarm leave") exit 0 ;;
  *) echo "stand-in docker: not $1 $2" >&2; exit 1 ;;
esac
`;

/** Builds `PROFILE_IMAGE` on the engine (`host`, else `DOCKER_HOST`'s) unless it is there. */
export async function ensureProfileImage(host?: string): Promise<void> {
  await ensureImage(PROFILE_IMAGE, host, async (root) => {
    const files = [
      "/usr/bin/sudo",
      "/usr/bin/setpriv",
      ...[...Deno.readDirSync("/usr/libexec/sudo")].map((e) => `/usr/libexec/sudo/${e.name}`),
      ...await pamPermit(),
    ];
    const libraries = new Set<string>();
    for (const file of files) {
      if (file.endsWith(".so") || file.includes(".so.") || !file.includes("/libexec/")) {
        for (const library of await librariesOf(file)) libraries.add(library);
      }
    }
    for (const file of [...files, ...libraries]) {
      await Deno.mkdir(join(root, file, ".."), { recursive: true });
      await Deno.copyFile(file, join(root, file)).catch(() => {});
    }
    await Deno.chmod(join(root, "usr/bin/sudo"), 0o4755);
    await Deno.writeTextFile(
      join(root, "etc/group"),
      "root:x:0:\nsudo:x:27:runner\ndocker:x:123:runner\nrunner:x:1001:\n",
    );
    await Deno.writeTextFile(
      join(root, "etc/sudoers"),
      "Defaults !lecture\n%sudo ALL=(ALL:ALL) NOPASSWD:ALL\n",
    );
    await Deno.chmod(join(root, "etc/sudoers"), 0o440);
    // sudo looks up the container's host name: in /etc/hosts (Docker's), never in DNS.
    await Deno.writeTextFile(
      join(root, "etc/nsswitch.conf"),
      "passwd: files\ngroup: files\nhosts: files\n",
    );
    await Deno.mkdir(join(root, "etc/pam.d"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "etc/pam.d/sudo"),
      ["auth", "account", "session"].map((type) => `${type} sufficient pam_permit.so\n`).join(""),
    );
    for (const dir of ["usr/local/lib", "run", "var/log"]) {
      await Deno.mkdir(join(root, dir), { recursive: true });
    }
    await Deno.writeTextFile(join(root, "usr/bin/dockerd"), "#!/bin/sh\nexec sleep 100000\n");
    // The stand-in engine keeps its objects as files below /var/lib/docker/standin/<kind>/.
    await Deno.writeTextFile(join(root, "usr/bin/docker"), STANDIN_DOCKER);
    for (const tool of ["dockerd", "docker"]) await Deno.chmod(join(root, "usr/bin", tool), 0o755);
  });
}

/** Debian's `pam_permit.so`, where this machine has it. */
async function pamPermit(): Promise<string[]> {
  const output = await new Deno.Command("sh", {
    args: ["-c", "ls /lib/*/security/pam_permit.so /usr/lib/*/security/pam_permit.so 2>/dev/null"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n").filter((p) => p !== "").slice(0, 1);
}

/** The shared libraries (and the loader) `ldd` says a file needs. */
async function librariesOf(file: string): Promise<string[]> {
  const output = await new Deno.Command("ldd", { args: [file], stdout: "piped", stderr: "null" })
    .output();
  return [...new TextDecoder().decode(output.stdout).matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) =>
    m[1]!
  );
}

/** Lays out the busybox root, lets `extend` add to it, and imports it as `tag`. */
async function ensureImage(
  tag: string,
  host: string | undefined,
  extend: (root: string) => Promise<void>,
): Promise<void> {
  if ((await docker(["image", "inspect", tag], undefined, host)).success) return;
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
    await extend(root);
    const tar = await new Deno.Command("tar", {
      args: ["-C", root, "--owner=0", "--group=0", "-cf", "-", "."],
      stdout: "piped",
    }).output();
    const imported = await docker(
      [
        "import",
        "--change",
        "USER 1001",
        "--change",
        "WORKDIR /home/runner",
        "--change",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "-",
        tag,
      ],
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
