import type { ManagedContainer, ManagedRunner, Registration, RunnerState } from "./model.ts";

/**
 * A clean-up step: remove a container of ours, delete a runner registration of ours, or retire
 * a runner that has both: its registration first, and its container only once GitHub has let
 * the registration go (a runner handed a job in between keeps its container and its job).
 */
export type CleanUp =
  | { kind: "remove-container"; containerId: string; runner: string; reason: string }
  | { kind: "delete-runner"; scope: string; runnerId: number; runner: string; reason: string }
  | {
    kind: "retire";
    scope: string;
    runnerId: number;
    containerId: string;
    runner: string;
    reason: string;
    /** The job it was started for, when it sat idle (online, never busy) until now. */
    unusedFor?: number;
  };

/** What reconciling Docker with GitHub found. */
export interface Reconciled {
  /** Our runners that stay, with their state, for the planner. */
  runners: ManagedRunner[];
  cleanUps: CleanUp[];
}

/** What is known about our runners this cycle. */
export interface ReconcileInput {
  containers: readonly ManagedContainer[];
  registrations: readonly Registration[];
  /** Scopes whose runner list was read this cycle; others' containers are left as they are. */
  readScopes: ReadonlySet<string>;
  now: Date;
  /** A runner that is not busy after this long (idle, or never online) is removed. */
  idleTimeoutMs: number;
  /** A warm-pool runner, exempt from the idle timeout once online, is recycled at this age. */
  poolMaxAgeMs: number;
}

/**
 * Joins our containers (Docker labels) with our registrations (GitHub), with no I/O:
 * - a container that is not running is removed (and its registration, if any, deleted);
 * - a runner that is idle, or has not come online, for longer than the idle timeout is removed
 *   with its registration (its job was taken elsewhere or cancelled); a warm-pool runner that
 *   is online waits for a job until the pool's maximum age instead, and is replaced then, one
 *   of a scope each cycle;
 * - a running container whose registration GitHub no longer lists is left to exit by itself,
 *   and removed if it is still there after the idle timeout;
 * - a registration with no container is deleted (a crash between registering and starting, or
 *   a container removed by hand); a busy one's delete is refused by GitHub and retried later.
 */
export function reconcile(input: ReconcileInput): Reconciled {
  const runners: ManagedRunner[] = [];
  const cleanUps: CleanUp[] = [];
  const withContainer = new Set<string>();
  const recycled = new Set<string>();
  const minutes = `${Math.round(input.idleTimeoutMs / 1000)} s`;
  for (const container of input.containers) {
    const name = container.labels["runner-name"] ?? "";
    const scope = container.labels.scope ?? "";
    withContainer.add(`${scope}\n${name}`);
    const registration = input.registrations.find((r) => r.scope === scope && r.name === name);
    const forJob = Number(container.labels["for-job"]);
    const remove = (reason: string, unused = false) => {
      cleanUps.push(
        registration
          ? {
            kind: "retire",
            scope,
            runnerId: registration.id,
            containerId: container.id,
            runner: name,
            reason,
            ...(unused && Number.isSafeInteger(forJob) && forJob > 0 ? { unusedFor: forJob } : {}),
          }
          : { kind: "remove-container", containerId: container.id, runner: name, reason },
      );
    };
    if (container.state !== "running") {
      remove(
        container.state === "exited"
          ? `its container exited with code ${container.exitCode}`
          : `its container is ${container.state}`,
      );
      continue;
    }
    const age = input.now.getTime() - Date.parse(container.createdAt);
    const stale = !(age <= input.idleTimeoutMs);
    const pool = container.labels.pool === "true";
    const labels = registration?.labels ??
      (container.labels.labels ?? "").split(",").filter((label) => label !== "");
    let state: RunnerState = "busy";
    if (input.readScopes.has(scope)) {
      if (!registration) {
        if (stale) {
          remove(`GitHub no longer lists it and it is still running after ${minutes}`);
          continue;
        }
      } else if (!registration.busy) {
        if (pool && registration.online) {
          // One a scope each cycle: runners started together are not all gone at once.
          if (!(age <= input.poolMaxAgeMs) && !recycled.has(scope)) {
            recycled.add(scope);
            remove(`a warm-pool runner older than ${Math.round(input.poolMaxAgeMs / 1000)} s`);
            continue;
          }
        } else if (stale) {
          remove(
            registration.online ? `idle for more than ${minutes}` : `not online after ${minutes}`,
            registration.online,
          );
          continue;
        }
        state = registration.online ? "idle" : "starting";
      }
    }
    runners.push({
      name,
      scope,
      labels,
      state,
      ...(registration ? { ids: { runnerId: registration.id, containerId: container.id } } : {}),
    });
  }
  for (const registration of input.registrations) {
    if (withContainer.has(`${registration.scope}\n${registration.name}`)) continue;
    cleanUps.push({
      kind: "delete-runner",
      scope: registration.scope,
      runnerId: registration.id,
      runner: registration.name,
      reason: "its container is gone",
    });
  }
  return { runners, cleanUps };
}

/** Runner states from GitHub alone, where no containers are known (dry run, demo). */
export function statesFromRegistrations(registrations: readonly Registration[]): ManagedRunner[] {
  return registrations.map((r) => ({
    name: r.name,
    scope: r.scope,
    labels: r.labels,
    state: !r.online ? "starting" : r.busy ? "busy" : "idle",
  }));
}

/**
 * When the daemon stops: every warm-pool runner of `containers` that GitHub lists and that is not
 * busy, to retire, since no daemon would retire it while this one is down. Busy ones finish their
 * jobs and go like every ephemeral runner.
 */
export function poolRetirements(
  containers: readonly ManagedContainer[],
  registrations: readonly Registration[],
): CleanUp[] {
  return containers.flatMap((container) => {
    const name = container.labels["runner-name"] ?? "";
    const scope = container.labels.scope ?? "";
    const registration = registrations.find((r) => r.scope === scope && r.name === name);
    if (container.labels.pool !== "true" || !registration || registration.busy) return [];
    return [{
      kind: "retire" as const,
      scope,
      runnerId: registration.id,
      containerId: container.id,
      runner: name,
      reason: "the daemon is stopping, and a warm-pool runner is not left behind",
    }];
  });
}
