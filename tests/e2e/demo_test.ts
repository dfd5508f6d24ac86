import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

Deno.test("demo serves every job this host may run and says what it left alone", async () => {
  const { code, stdout, stderr } = await runCli(["demo", "--interval-ms", "0"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Demo finished after 5 cycles\.$/m);
  assert.match(stdout, /^ {2}9 jobs served by 9 runners the autoscaler started$/m);
  assert.match(stdout, /^ {2}6 jobs left alone, as this host must not run them:$/m);
  assert.match(stdout, /docs: runs-on ubuntu-latest is for GitHub-hosted runners/);
  assert.match(stdout, /fpga-test: this host's runners lack the label fpga/);
  assert.match(stdout, /build: workflow file "\.github\/workflows\/arm64-ci\.yml" names arm64/);
  assert.match(stderr, /INFO: Found 4 repos with 5 queued jobs/);
  assert.match(stderr, /INFO: Filtered 2 incompatible jobs for x64/);
  assert.match(
    stderr,
    /INFO: Started cuda runner autoscaler-demo-\w+ for octo-org\/ml \(simulated\)/,
  );
  assert.match(stderr, /INFO: GitHub gave job train-large to autoscaler-demo-\w+/);
});
