/**
 * The Docker engine the tests may use (`DOCKER_HOST` as .ci/run sets it, or the default socket):
 * its version, or null when none answers. Without one, engine tests are skipped, visibly; in CI
 * (`CI` set) a missing engine fails the run instead.
 */
export const ENGINE_VERSION: string | null = await (async () => {
  const output = await new Deno.Command("docker", {
    args: ["version", "--format", "{{.Server.Version}}"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  const version = output?.success ? new TextDecoder().decode(output.stdout).trim() : null;
  if (version === null && Deno.env.get("CI")) {
    throw new Error("CI must provide a Docker engine (.ci/run starts one and sets DOCKER_HOST)");
  }
  if (version === null) console.warn("No Docker engine answers: the engine tests are skipped");
  return version;
})();
