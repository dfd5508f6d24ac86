import { createGitHub, deadlineFetch } from "../github/client.ts";
import { serverUrl } from "../github/api_url.ts";
import { describeError } from "../github/errors.ts";
import { ScaleSetClient } from "../github/scale_set_client.ts";
import type { ScaleSetEntry, ScaleSetRecord } from "../daemon/scale_set_record.ts";
import { Docker } from "../runners/docker.ts";
import type { CommandRunner } from "../system/command.ts";

/**
 * Deletes the runner scale sets a host's record names (`uninstall-service`): a scale set left
 * behind would go on matching jobs no host listens for. Not while a runner of this host's
 * scale sets still runs (its job would lose its runner): then nothing is deleted. Each scale set
 * deleted (or found gone) is forgotten; the others stay in the record for another try. Returns a
 * line for each, and whether every one is gone.
 */
export async function removeScaleSets(
  record: ScaleSetRecord,
  entries: ScaleSetEntry[],
  options: {
    token: string;
    hostId: string;
    stateDir: string;
    run: CommandRunner;
    timeoutMs: number;
  },
): Promise<{ lines: string[]; ok: boolean }> {
  const lines: string[] = [];
  let running: string[] = [];
  try {
    running = await runningRunners(options.run, options.hostId);
  } catch (error) {
    lines.push(
      `Could not ask Docker whether runners of the scale sets still run ` +
        `(${describeError(error)}); deleting them`,
    );
  }
  if (running.length > 0) {
    return {
      ok: false,
      lines: [
        `Runner scale sets not deleted: ${running.length} of their runners still run ` +
        `(${running.join(", ")}); once they are done, run with the token in GH_TOKEN: ` +
        `autoscaler uninstall-service --state-dir ${options.stateDir}`,
      ],
    };
  }
  let ok = true;
  for (const entry of entries) {
    const { apiUrl, org, id, name } = entry;
    try {
      const gone = !(await clientFor(entry, options).deleteScaleSet(id));
      await record.forget((e) => e.apiUrl === apiUrl && e.id === id);
      lines.push(
        gone
          ? `Runner scale set ${name} (id ${id}) of ${org} was gone already`
          : `Deleted runner scale set ${name} (id ${id}) of ${org}`,
      );
    } catch (error) {
      ok = false;
      lines.push(
        `Could not delete runner scale set ${name} (id ${id}) of ${org}: ` +
          `${describeError(error)}; run uninstall-service again, or delete it in the ` +
          "organization's settings (Actions, Runners)",
      );
    }
  }
  return { lines, ok };
}

/** The runners of this host's scale sets whose containers still run. */
async function runningRunners(run: CommandRunner, hostId: string): Promise<string[]> {
  const containers = await new Docker(run).list();
  return containers.filter((c) =>
    c.labels["scale-set"] !== undefined && !["exited", "dead"].includes(c.state) &&
    (c.labels["runner-name"] ?? "").includes(`-${hostId}-`)
  ).map((c) => c.labels["runner-name"] ?? c.id);
}

function clientFor(entry: ScaleSetEntry, options: { token: string; timeoutMs: number }) {
  const { apiUrl, org } = entry;
  const { token, timeoutMs } = options;
  return new ScaleSetClient(createGitHub(apiUrl, { kind: "token", token }, { timeoutMs }), {
    apiUrl,
    org,
    configUrl: `${serverUrl(apiUrl)}/${org}`,
    fetch: deadlineFetch(timeoutMs),
    pollFetch: deadlineFetch(timeoutMs),
    now: () => new Date(),
  });
}
