import { getLogger } from "@logtape/logtape";
import type { StartAction } from "../core/plan.ts";
import type { GitHub } from "../github/client.ts";
import {
  deleteRunner,
  JitUnavailable,
  registerJitRunner,
  registrationToken,
} from "../github/runners.ts";
import type { ScaleSetClient } from "../github/scale_set_client.ts";
import { JIT_ENV } from "./docker.ts";
import { launcherCommand } from "./launcher.ts";

const log = getLogger(["autoscaler", "runners"]);

/** What a runner container is given to register: its settings, and the launcher command. */
export interface RunnerRegistration {
  /** The registration's id, or null where the runner registers itself (`config.sh`). */
  id: number | null;
  /** Handed to the launcher after the start, never in the container's configuration. */
  env: Record<string, string>;
  command: string[];
}

/** Where runners are registered, and removed again when their start fails. */
export interface RunnerRegistry {
  /** Registers runner `name` for `action`; `ownEngine`: the launcher starts the runner's engine. */
  register(action: StartAction, name: string, ownEngine: boolean): Promise<RunnerRegistration>;
  /** Removes a registration: `deleted`, `busy` (it runs a job) or `gone`. */
  unregister(scope: string, id: number): Promise<"deleted" | "busy" | "gone">;
}

/**
 * Runners registered over the REST API to a repository or organization: just in time, or where
 * GitHub has no JIT (GitHub Enterprise Server before 3.10) with a registration token for
 * `config.sh --ephemeral --unattended`, which registers the runner as the container starts.
 */
export class RestRegistry implements RunnerRegistry {
  /** False once GitHub answered generate-jitconfig with 404. */
  #jit = true;

  constructor(
    private github: GitHub,
    private settings: {
      runnerGroupId: number;
      /** The web address `config.sh --url` takes (`https://github.com`). */
      serverUrl: string;
    },
  ) {}

  async register(
    action: StartAction,
    name: string,
    ownEngine: boolean,
  ): Promise<RunnerRegistration> {
    const { scope, labels } = action;
    if (this.#jit) {
      try {
        const { id, jitConfig } = await registerJitRunner(this.github, scope, {
          name,
          labels,
          runnerGroupId: this.settings.runnerGroupId,
        });
        return { id, env: { [JIT_ENV]: jitConfig }, command: launcherCommand("jit", ownEngine) };
      } catch (error) {
        if (!(error instanceof JitUnavailable)) throw error;
        log.warn("{message}; registering runners with config.sh and a registration token", {
          message: error.message,
        });
        this.#jit = false;
      }
    }
    const token = await registrationToken(this.github, scope);
    return {
      id: null,
      env: {
        ACTIONS_RUNNER_INPUT_URL: `${this.settings.serverUrl}/${scope}`,
        ACTIONS_RUNNER_INPUT_TOKEN: token,
        ACTIONS_RUNNER_INPUT_NAME: name,
        ACTIONS_RUNNER_INPUT_LABELS: labels.join(","),
      },
      command: launcherCommand("config", ownEngine),
    };
  }

  unregister(scope: string, id: number) {
    return deleteRunner(this.github, scope, id);
  }
}

/** Runners of this host's runner scale sets, registered just in time by the Actions service. */
export class ScaleSetRegistry implements RunnerRegistry {
  constructor(private client: ScaleSetClient) {}

  async register(
    action: StartAction,
    name: string,
    ownEngine: boolean,
  ): Promise<RunnerRegistration> {
    if (action.scaleSetId === undefined) {
      throw new Error(`Runner ${name} is not for a scale set; this daemon starts no others`);
    }
    const { id, jitConfig } = await this.client.generateJitConfig(action.scaleSetId, name);
    return { id, env: { [JIT_ENV]: jitConfig }, command: launcherCommand("jit", ownEngine) };
  }

  unregister(_scope: string, id: number) {
    return this.client.deleteRunner(id);
  }
}
