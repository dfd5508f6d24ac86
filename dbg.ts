import { createGitHub } from "./lib/github/client.ts";
import { makeAppKey } from "./tests/helpers/app_key.ts";
import { GitHubSimulator } from "./lib/simulator/server.ts";
const key = await makeAppKey();
const sim = new GitHubSimulator({
  tokens: ["x"],
  app: { id: 42, publicKey: key.publicKey, installations: { 7: ["org/app"] } },
});
sim.world.addRepo("org/app", { org: true });
await sim.start();
const app = createGitHub(sim.url, {
  kind: "app",
  appId: 42,
  privateKey: key.privateKeyPem,
  installationId: 7,
});
try {
  const r = await app.request("GET /installation/repositories");
  console.log(r.status, r.data.total_count);
} catch (e) {
  console.log("ERR", String(e));
}
console.log(sim.log);
await sim.stop();
