import type { RunnerKind } from "./model.ts";
import type { HostProfile, Spare, StartAction } from "./plan.ts";

/** `--min-idle`: how many idle runners of each kind to keep ready in each of `scopes`. */
export interface WarmPool {
  scopes: readonly string[];
  minIdle: Partial<Record<RunnerKind, number>>;
}

/** An idle runner to retire because a waiting job needs its place. */
export interface Reclaim {
  runner: string;
  scope: string;
  reason: string;
}

/** A job waiting for a place: the kind of device it waits for, or null for any runner's place. */
export interface Starved {
  jobId: number;
  kind: RunnerKind | null;
}

/** What the planner hands the pool once every queued job has its decision. */
export interface PoolInput {
  host: HostProfile;
  /** Idle and starting runners that no queued job will take. */
  spares: readonly Spare[];
  /** The jobs waiting for a place that may reclaim one. */
  starved: readonly Starved[];
  pool: WarmPool | undefined;
  /** Runners that may still be started under `--max-runners`. */
  room: number;
  /** Runners of each kind in use or being started; the pool's starts are added. */
  kindInUse: Map<RunnerKind, number>;
}

/**
 * The warm pool's share of a plan, with no I/O. Jobs come first: each job waiting for a place
 * reclaims one idle runner that cannot take it (another scope, other labels): of the kind whose
 * devices it waits for, else any (`--max-runners` is the bound), so a pool runner never holds a
 * place (a GPU) a waiting job needs, and no runner is retired that would free nothing for it. A starting runner is left to come online: it may be for a job of a
 * repository whose jobs could not be read this cycle. Then what room is left tops each pool
 * scope up to its minimum of each kind, counting the spares there.
 */
export function warmPool(input: PoolInput): { actions: StartAction[]; reclaims: Reclaim[] } {
  const free = input.spares.filter((s) => s.runner.state === "idle");
  const reclaims: Reclaim[] = [];
  // Jobs waiting for a device first: only a runner of that kind frees one. Then jobs that any
  // place will do, from runners no device-waiting job needs: a CPU one first.
  const awaited = new Set(input.starved.map((s) => s.kind));
  const rank = (s: Spare) => s.kind === "cpu" ? 0 : awaited.has(s.kind) ? 2 : 1;
  const byNeed = [
    ...input.starved.filter((s) => s.kind !== null),
    ...input.starved.filter((s) => s.kind === null),
  ];
  for (const { kind } of byNeed) {
    if (free.length === 0) break;
    let at = -1;
    for (let i = 0; i < free.length; i++) {
      const s = free[i]!;
      if (kind !== null ? s.kind === kind : at < 0 || rank(s) < rank(free[at]!)) {
        at = i;
        if (kind !== null || rank(s) === 0) break;
      }
    }
    if (at < 0) continue;
    const chosen = free.splice(at, 1)[0]!;
    reclaims.push({
      runner: chosen.runner.name,
      scope: chosen.runner.scope,
      reason: `a waiting job needs its place (${kind === null ? "--max-runners" : kind})`,
    });
  }
  const actions: StartAction[] = [];
  let room = input.room;
  const { pool, host, kindInUse } = input;
  for (const scope of pool ? [...new Set(pool.scopes)].sort() : []) {
    for (const runnerKind of Object.keys(host.kinds) as RunnerKind[]) {
      const kind = host.kinds[runnerKind]!;
      const ready = input.spares.filter((s) => s.runner.scope === scope && s.kind === runnerKind);
      const used = kindInUse.get(runnerKind) ?? 0;
      const count = Math.min(
        (pool?.minIdle[runnerKind] ?? 0) - ready.length,
        room,
        kind.capacity - used,
      );
      if (count <= 0) continue;
      room -= count;
      kindInUse.set(runnerKind, used + count);
      actions.push({
        kind: "start",
        scope,
        repo: null,
        runnerKind,
        labels: kind.labels,
        count,
        jobIds: [],
      });
    }
  }
  return { actions, reclaims };
}
