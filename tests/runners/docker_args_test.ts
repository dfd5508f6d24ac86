import assert from "node:assert/strict";
import { deviceSlots } from "../../lib/runners/devices.ts";
import { confinementArgs, JIT_ENV, runArgs } from "../../lib/runners/docker.ts";
import type { HostFacts } from "../../lib/system/host.ts";

Deno.test("runArgs hardens the container and carries no setting of the runner", () => {
  const args = runArgs({
    name: "autoscaler-h-1",
    image: "img:1",
    labels: { repo: "o/r", "runner-name": "autoscaler-h-1" },
    settings: { [JIT_ENV]: "c2VjcmV0" },
    profile: "hardened",
    nested: null,
    shmMiB: null,
    cpus: 1.5,
    memoryMiB: 2048,
    pidsLimit: 4096,
    network: "bridge",
    deviceArgs: ["--gpus", "device=GPU-1"],
    cacheArgs: [],
    command: ["sh", "-c", "launcher"],
  });
  assert.ok(!args.join(" ").includes("c2VjcmV0"));
  assert.ok(!args.includes("--env") && !args.includes("-e"));
  const text = args.join(" ");
  for (
    const part of [
      "run --detach --name autoscaler-h-1 --user 1001:1001",
      "--cap-drop ALL --security-opt no-new-privileges --pids-limit 4096",
      "--memory 2048m --cpus 1.5 --init --pull never --network bridge",
      "--tmpfs /run/autoscaler:rw,nosuid,nodev,noexec,size=1m,mode=0700,uid=1001,gid=1001",
      "--label io.github-autoscaler.managed-by=github-autoscaler",
      "--label io.github-autoscaler.repo=o/r",
      "--gpus device=GPU-1 img:1 sh -c launcher",
    ]
  ) {
    assert.ok(text.includes(part), `${part} in ${text}`);
  }
  assert.ok(!text.includes("docker.sock") && !text.includes("--volume") && !text.includes("-v "));
});

Deno.test("each profile's confinement: sudo keeps the image's groups and drops no-new-privileges", () => {
  assert.deepEqual(
    confinementArgs("hardened", null).join(" "),
    [
      "--user 1001:1001 --cap-drop ALL --security-opt no-new-privileges",
    ].join(""),
  );
  const sudo = confinementArgs("sudo", null).join(" ");
  assert.match(sudo, /^--user 1001 --cap-drop ALL --cap-add CHOWN /);
  assert.match(sudo, /--cap-add SETUID --cap-add SETGID/);
  assert.doesNotMatch(sudo, /no-new-privileges|NET_RAW|MKNOD|SYS_ADMIN|--privileged/);
  assert.equal(
    confinementArgs("docker", "sysbox").join(" "),
    "--runtime sysbox-runc --user 0",
  );
  assert.equal(confinementArgs("docker", "rootless").join(" "), "--privileged --user 0");
});

const NONE: HostFacts = {
  arch: { name: "x64", machine: "x86_64", source: "cpuinfo" },
  cpu: { count: 8, model: null, board: null },
  memory: { totalBytes: null, availableBytes: null },
  nvidia: { gpus: [], reason: null },
  amd: { gpus: [], reason: null, renderNodes: [] },
  intel: { gpus: [], npus: [] },
  docker: { available: true, serverVersion: "1", reason: null },
};

Deno.test("deviceSlots: one slot per GPU, per MIG instance where MIG is on", () => {
  const gpu = (index: number, mig: string[]) => ({
    index,
    name: "A100",
    uuid: `GPU-${index}`,
    memoryMiB: 1,
    driverVersion: "1",
    mig: mig.map((uuid, i) => ({ profile: "1g.10gb", index: i, uuid })),
  });
  const slots = deviceSlots({
    ...NONE,
    nvidia: { gpus: [gpu(0, ["MIG-a", "MIG-b"]), gpu(1, [])], reason: null },
  });
  assert.deepEqual(slots.cuda, [
    { id: "MIG-a", args: ["--gpus", "device=MIG-a"] },
    { id: "MIG-b", args: ["--gpus", "device=MIG-b"] },
    { id: "GPU-1", args: ["--gpus", "device=GPU-1"] },
  ]);
});

Deno.test("deviceSlots: AMD gets /dev/kfd and its own render node, with the owning groups", () => {
  const slots = deviceSlots(
    { ...NONE, amd: { gpus: [], reason: null, renderNodes: ["renderD128", "renderD129"] } },
    { "/dev/kfd": 109, "/dev/dri/renderD128": 109, "/dev/dri/renderD129": 109 },
  );
  assert.deepEqual(slots.rocm?.[1], {
    id: "renderD129",
    args: ["--device", "/dev/kfd", "--device", "/dev/dri/renderD129", "--group-add", "109"],
  });
});

Deno.test("deviceSlots: an Intel GPU comes with the NPUs; NPUs alone are one slot each", () => {
  const npu = { node: "accel0", deviceId: null, driver: null };
  const gpu = { node: "renderD128", deviceId: null, driver: "i915" };
  assert.deepEqual(deviceSlots({ ...NONE, intel: { gpus: [gpu], npus: [npu] } }).openvino, [
    {
      id: "renderD128",
      args: ["--device", "/dev/dri/renderD128", "--device", "/dev/accel/accel0"],
    },
  ]);
  assert.deepEqual(deviceSlots({ ...NONE, intel: { gpus: [], npus: [npu] } }).openvino, [
    { id: "accel0", args: ["--device", "/dev/accel/accel0"] },
  ]);
  assert.deepEqual(deviceSlots(NONE), {});
});

Deno.test("deviceSlots: with several Intel GPUs each NPU goes to one slot only", () => {
  const gpus = ["renderD128", "renderD129"].map((node) => ({ node, deviceId: null, driver: "xe" }));
  const npus = ["accel0"].map((node) => ({ node, deviceId: null, driver: null }));
  const slots = deviceSlots({ ...NONE, intel: { gpus, npus } }).openvino ?? [];
  assert.deepEqual(slots.map((slot) => slot.args.join(" ")), [
    "--device /dev/dri/renderD128 --device /dev/accel/accel0",
    "--device /dev/dri/renderD129",
  ]);
  const more = ["accel0", "accel1", "accel2"].map((node) => ({
    node,
    deviceId: null,
    driver: null,
  }));
  const all = deviceSlots({ ...NONE, intel: { gpus, npus: more } }).openvino ?? [];
  assert.deepEqual(all.map((slot) => [slot.id, slot.args.join(" ")]), [
    ["renderD128", "--device /dev/dri/renderD128 --device /dev/accel/accel0"],
    ["renderD129", "--device /dev/dri/renderD129 --device /dev/accel/accel1"],
    ["accel2", "--device /dev/accel/accel2"],
  ]);
});

Deno.test("the runner image recipe builds on the daemon's default image, at the same version", async () => {
  const { DEFAULT_IMAGE } = await import("../../lib/commands/run_options.ts");
  const recipe = await Deno.readTextFile(
    new URL("../../images/runner.Dockerfile", import.meta.url),
  );
  const version = recipe.match(/^ARG RUNNER_VERSION=(\S+)$/m)?.[1];
  assert.equal(`ghcr.io/actions/actions-runner:${version}`, DEFAULT_IMAGE);
  assert.match(recipe, /^FROM ghcr\.io\/actions\/actions-runner:\$\{RUNNER_VERSION\}$/m);
  assert.ok(recipe.includes(`-t autoscaler-runner:${version} images/`), "its build command");
  assert.match(recipe, /^USER runner$/m);
});
