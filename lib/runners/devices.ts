import type { RunnerKind } from "../core/model.ts";
import type { HostFacts } from "../system/host.ts";

/** One accelerator a runner can be given: its id (kept in a container label) and docker args. */
export interface DeviceSlot {
  id: string;
  args: string[];
}

/** The device slots of each accelerator kind; a slot goes to one runner at a time. */
export type DeviceSlots = Partial<Record<Exclude<RunnerKind, "cpu">, DeviceSlot[]>>;

/**
 * The host's accelerators as slots: each NVIDIA GPU (each MIG instance where MIG is on) by
 * UUID for `--gpus device=`; each AMD GPU as `/dev/kfd` plus its own render node; each Intel GPU
 * as its render node, the first ones each with one NPU, and each NPU left over on its own. `groups` maps device paths to the group
 * that owns them on the host, so the runner's non-root user may open them.
 */
export function deviceSlots(host: HostFacts, groups: Record<string, number> = {}): DeviceSlots {
  const devices = (...paths: string[]) => {
    const gids = [...new Set(paths.map((path) => groups[path]).filter((g) => g !== undefined))];
    return [
      ...paths.flatMap((path) => ["--device", path]),
      ...gids.flatMap((gid) => ["--group-add", String(gid)]),
    ];
  };
  const slots: DeviceSlots = {};
  const cuda = host.nvidia.gpus.flatMap((gpu) =>
    gpu.mig.length > 0 ? gpu.mig.map((mig) => mig.uuid) : [gpu.uuid ?? String(gpu.index)]
  );
  if (cuda.length > 0) slots.cuda = cuda.map((id) => ({ id, args: ["--gpus", `device=${id}`] }));
  if (host.amd.renderNodes.length > 0) {
    slots.rocm = host.amd.renderNodes.map((node) => ({
      id: node,
      args: devices("/dev/kfd", `/dev/dri/${node}`),
    }));
  }
  // The i-th Intel GPU comes with the i-th NPU (a device is never given to two runners); NPUs
  // beyond the GPUs are slots of their own.
  const { gpus, npus } = host.intel;
  const openvino = [
    ...gpus.map((gpu, i) => ({
      id: gpu.node,
      args: devices(`/dev/dri/${gpu.node}`, ...(npus[i] ? [`/dev/accel/${npus[i].node}`] : [])),
    })),
    ...npus.slice(gpus.length).map((npu) => ({
      id: npu.node,
      args: devices(`/dev/accel/${npu.node}`),
    })),
  ];
  if (openvino.length > 0) slots.openvino = openvino;
  return slots;
}

/** Every device path the slots name, to look up their owning groups. */
export function devicePaths(host: HostFacts): string[] {
  return [
    ...(host.amd.renderNodes.length > 0 ? ["/dev/kfd"] : []),
    ...host.amd.renderNodes.map((node) => `/dev/dri/${node}`),
    ...host.intel.gpus.map((gpu) => `/dev/dri/${gpu.node}`),
    ...host.intel.npus.map((npu) => `/dev/accel/${npu.node}`),
  ];
}
