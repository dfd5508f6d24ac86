import { createGitHub, deadlineFetch } from "../github/client.ts";
import { serverUrl } from "../github/api_url.ts";
import { describeError } from "../github/errors.ts";
import { ScaleSetClient } from "../github/scale_set_client.ts";
import type { ScaleSetRecordData } from "../daemon/scale_set_record.ts";

/**
 * Deletes the runner scale sets a host's record names (`uninstall-service`): a scale set left
 * behind would go on matching jobs no host listens for. Returns a line for each, and whether
 * every one is gone.
 */
export async function removeScaleSets(
  data: ScaleSetRecordData,
  token: string,
  timeoutMs: number,
): Promise<{ lines: string[]; ok: boolean }> {
  const github = createGitHub(data.apiUrl, { kind: "token", token }, { timeoutMs });
  const client = new ScaleSetClient(github, {
    apiUrl: data.apiUrl,
    org: data.org,
    configUrl: `${serverUrl(data.apiUrl)}/${data.org}`,
    fetch: deadlineFetch(timeoutMs),
    pollFetch: deadlineFetch(timeoutMs),
    now: () => new Date(),
  });
  const lines: string[] = [];
  let ok = true;
  for (const { id, name } of Object.values(data.scaleSets)) {
    try {
      lines.push(
        (await client.deleteScaleSet(id))
          ? `Deleted runner scale set ${name} (id ${id}) of ${data.org}`
          : `Runner scale set ${name} (id ${id}) of ${data.org} was gone already`,
      );
    } catch (error) {
      ok = false;
      lines.push(
        `Could not delete runner scale set ${name} (id ${id}) of ${data.org}: ` +
          `${describeError(error)}; run uninstall-service again, or delete it in the ` +
          "organization's settings (Actions, Runners)",
      );
    }
  }
  return { lines, ok };
}
