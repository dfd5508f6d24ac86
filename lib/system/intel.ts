import type { HostFiles } from "./files.ts";

/** PCI vendor id of Intel. */
const INTEL = "0x8086";

/** PCI vendor id of AMD (ATI). */
const AMD = "0x1002";

/** An Intel device node usable by OpenVINO: a GPU render node or an NPU. */
export interface IntelDevice {
  /** The device node name: `renderD128` (under /dev/dri) or `accel0` (under /dev/accel). */
  node: string;
  /** PCI device id (`0x591b`), when sysfs tells. */
  deviceId: string | null;
  /** Kernel driver (`i915`, `xe`, `intel_vpu`), when sysfs tells. */
  driver: string | null;
}

/** The Intel part of detection. */
export interface IntelReport {
  gpus: IntelDevice[];
  npus: IntelDevice[];
}

/**
 * Finds Intel GPUs (DRM render nodes whose PCI vendor is 0x8086) and NPUs (`/dev/accel/accel*`
 * nodes, minus those sysfs says belong to another vendor).
 */
export async function detectIntel(files: HostFiles): Promise<IntelReport> {
  const gpus = await renderNodes(files, INTEL);
  const npus: IntelDevice[] = [];
  for (const node of await files.list("dev/accel")) {
    if (!/^accel\d+$/.test(node)) continue;
    const pci = await pciOf(files, `sys/class/accel/${node}/device`);
    if (pci.vendor === null || pci.vendor === INTEL) {
      npus.push({ node, deviceId: pci.device, driver: pci.driver });
    }
  }
  return { gpus, npus };
}

/** The DRM render nodes of AMD GPUs (`renderD129`), which a ROCm runner is given one of. */
export async function amdRenderNodes(files: HostFiles): Promise<string[]> {
  return (await renderNodes(files, AMD)).map((device) => device.node);
}

/** DRM render nodes whose PCI vendor is `vendor`, in natural order. */
async function renderNodes(files: HostFiles, vendor: string): Promise<IntelDevice[]> {
  const nodes: IntelDevice[] = [];
  for (const node of await files.list("sys/class/drm")) {
    if (!/^renderD\d+$/.test(node)) continue;
    const pci = await pciOf(files, `sys/class/drm/${node}/device`);
    if (pci.vendor === vendor) nodes.push({ node, deviceId: pci.device, driver: pci.driver });
  }
  return nodes;
}

/** Vendor, device and driver of a PCI device directory, from `vendor`/`device` or `uevent`. */
async function pciOf(files: HostFiles, dir: string) {
  const uevent = await files.readText(`${dir}/uevent`) ?? "";
  const field = (key: string) => uevent.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1]?.trim();
  const [ueventVendor, ueventDevice] = (field("PCI_ID") ?? "").split(":");
  const hex = (value: string | null | undefined) =>
    value ? `0x${value.trim().toLowerCase().replace(/^0x/, "")}` : null;
  return {
    vendor: hex(await files.readText(`${dir}/vendor`) ?? ueventVendor),
    device: hex(await files.readText(`${dir}/device`) ?? ueventDevice),
    driver: field("DRIVER") ?? null,
  };
}
