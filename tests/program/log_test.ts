import assert from "node:assert/strict";
import { getLogger, resetSync } from "@logtape/logtape";
import { redactSecrets, setupLogging } from "../../lib/program/log.ts";

const TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

function capture(format: "text" | "json", level: "debug" | "info" = "info"): string[] {
  const lines: string[] = [];
  setupLogging({ level, format, write: (line) => lines.push(line) });
  return lines;
}

Deno.test("the text format is [date time] LEVEL: message, with extra properties after it", () => {
  const lines = capture("text");
  try {
    getLogger(["autoscaler", "test"]).info("Auto-scaler configured: {count} repos", {
      count: 3,
      mode: "poll",
    });
  } finally {
    resetSync();
  }
  assert.equal(lines.length, 1);
  assert.match(
    lines[0] ?? "",
    /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO: Auto-scaler configured: 3 repos mode=poll\n$/,
  );
});

Deno.test("the json format is one object a line with level, message and properties", () => {
  const lines = capture("json");
  try {
    getLogger(["autoscaler", "test"]).warn("Rate limit low: {remaining}", { remaining: 12 });
  } finally {
    resetSync();
  }
  const record = JSON.parse(lines[0] ?? "");
  assert.equal(record.level, "WARN");
  assert.equal(record.message, "Rate limit low: 12");
  assert.deepEqual(record.properties, { remaining: 12 });
  assert.deepEqual(record.logger, "autoscaler.test");
});

Deno.test("--log-level drops what is below it", () => {
  const lines = capture("text", "info");
  try {
    const log = getLogger(["autoscaler", "test"]);
    log.debug("hidden");
    log.info("shown");
  } finally {
    resetSync();
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? "", /INFO: shown/);
});

for (const format of ["text", "json"] as const) {
  Deno.test(`secrets never reach a ${format} log line`, () => {
    const lines = capture(format, "debug");
    try {
      const log = getLogger(["autoscaler", "test"]);
      log.info("Registered with {token}", { token: TOKEN });
      log.info("Config {config}", { config: { jitConfig: "eyJhbGciOi.secret.value", name: "r1" } });
      log.info(`gh said: authorization: Bearer ${TOKEN.slice(4)}`);
      log.info("Key follows", {
        pem: "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
      });
      log.info("Sent {headers}", { headers: { Authorization: `token ${TOKEN}` } });
    } finally {
      resetSync();
    }
    const all = lines.join("");
    assert.equal(lines.length, 5);
    assert.ok(!all.includes(TOKEN), all);
    assert.ok(!all.includes(TOKEN.slice(4)), all);
    assert.ok(!all.includes("MIIE"), all);
    assert.ok(!all.includes("secret.value"), all);
    assert.ok(all.includes("r1"), "non-secret values stay");
    assert.ok(all.includes("[REDACTED]"));
  });
}

Deno.test("redactSecrets covers every GitHub token prefix and leaves plain text alone", () => {
  for (const prefix of ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]) {
    assert.equal(redactSecrets(`t=${prefix}${"x".repeat(36)}.`), "t=[REDACTED].");
  }
  assert.equal(redactSecrets("no secrets in ghp_short here"), "no secrets in ghp_short here");
});
