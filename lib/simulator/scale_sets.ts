import type { SimJob, SimRunner } from "./objects.ts";
import type { SimWorld } from "./world.ts";

/** How the simulated Actions service behaves; real GitHub's figures unless a test says less. */
export interface ScaleSetServiceOptions {
  /** How long a poll of an empty queue is held before 202 (GitHub: about 50 s). */
  longPollSeconds?: number;
  /** A session with no poll for this long is gone, and its unstarted jobs go back to the queue. */
  sessionTimeoutSeconds?: number;
  /** A job assigned but not taken by a runner for this long goes back to the queue. */
  requeueSeconds?: number;
  /**
   * GitHub Enterprise Server's flavour: jobs are offered (`JobAvailable`) to every scale set that
   * fits, and go to the first that claims them with `acquirejobs`.
   */
  acquire?: boolean;
  /** How long an admin token holds. */
  adminTokenSeconds?: number;
  /**
   * A server without several labels per scale set (GitHub Enterprise Server before 3.18, or
   * before 3.21 without the feature flag): it keeps the first label alone.
   */
  oneLabel?: boolean;
}

/** A runner scale set of the simulated service. */
export interface SimScaleSet {
  id: number;
  org: string;
  name: string;
  runnerGroupId: number;
  labels: string[];
}

/** A listener session of a scale set. */
export interface SimSession {
  id: string;
  scaleSet: SimScaleSet;
  ownerName: string;
  queueToken: string;
  /** Messages made and not acknowledged, oldest first. */
  messages: { id: number; events: unknown[] }[];
  /** Job events not yet in a message. */
  pending: unknown[];
  /** The `X-ScaleSetMaxCapacity` of the last poll. */
  capacity: number;
  polling: number;
  /** When a poll last ended (epoch ms). */
  lastSeen: number;
}

/** What the service needs of the REST side: registration tokens, and runners of its own. */
export interface ScaleSetHooks {
  /** The scope a registration token was issued for, if it was. */
  registrationScope(token: string): string | undefined;
  /** Registers a runner (its config, in the stand-in's format), or null if the name is taken. */
  addRunner(
    scope: string,
    name: string,
    labels: string[],
    scaleSetId: number,
  ): { runner: SimRunner; config: string } | null;
  removeRunner(runner: SimRunner): void;
  url(): string;
}

const ROOT = /^\/_services\/actions\/([^/]+)\/(.*)$/;
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * GitHub's runner scale set service, as `actions/scaleset` speaks to it: the admin connection
 * (`/actions/runner-registration`), scale sets, sessions (one per scale set; 409 for a second),
 * long-polled message queues with `X-ScaleSetMaxCapacity`, acknowledgement, `acquirejobs`,
 * `generatejitconfig` and runner removal. It assigns each queued job to one scale set of the
 * job's organization whose labels include the job's, among those listening with room, at
 * random; a job whose scale set stops listening, or that no runner takes, is queued again.
 */
export class ScaleSetService {
  readonly scaleSets: SimScaleSet[] = [];
  readonly sessions = new Map<string, SimSession>();
  /** Every assignment made, in order: which scale set each job went to. */
  readonly assignments: { jobId: number; scaleSetId: number }[] = [];
  readonly #assigned = new Map<number, { scaleSet: SimScaleSet; at: number }>();
  /** What was last told of each assigned job (`JobStarted`, `JobCompleted`). */
  readonly #told = new Map<number, string>();
  /** Jobs offered to each session (the acquire flavour), so an offer is made once. */
  readonly #offered = new Map<string, Set<number>>();
  readonly #adminTokens = new Map<string, { org: string; expiresAt: number }>();
  #nextId = 1;
  #nextMessage = 1;

  constructor(
    private world: SimWorld,
    private hooks: ScaleSetHooks,
    private options: ScaleSetServiceOptions,
    private stopping: AbortSignal,
  ) {}

  /** Deletes a scale set as GitHub does after long inactivity: sessions and runners with it. */
  deleteScaleSet(id: number): void {
    const at = this.scaleSets.findIndex((s) => s.id === id);
    if (at < 0) return;
    const [set] = this.scaleSets.splice(at, 1);
    for (const [sessionId, session] of this.sessions) {
      if (session.scaleSet === set) this.sessions.delete(sessionId);
    }
    for (const runner of this.world.runners.filter((r) => r.scaleSetId === id)) {
      this.hooks.removeRunner(runner);
    }
    this.#sweep();
  }

  /** Expires every admin and queue token: the next calls get 401 until they fetch new ones. */
  expireTokens(): void {
    for (const token of this.#adminTokens.values()) token.expiresAt = 0;
    for (const session of this.sessions.values()) session.queueToken = `expired-${session.id}`;
  }

  /** The answer to a request of this service, or null when the path is not one of its. */
  async handle(request: Request, url: URL): Promise<Response | null> {
    if (
      request.method === "POST" && /^(\/api\/v3)?\/actions\/runner-registration$/.test(url.pathname)
    ) {
      return await this.#register(request);
    }
    const root = url.pathname.match(ROOT);
    if (!root) return null;
    const org = decodeURIComponent(root[1]!);
    const path = root[2]!;
    const refused = protocolProblem(request, url, path);
    if (refused) return error(400, "InvalidRequestException", refused);
    this.#sweep();
    const queue = path.match(/^queue\/([^/]+)(?:\/(\d+))?$/);
    if (queue) return await this.#queue(request, url, queue[1]!, queue[2]);
    const bearer = request.headers.get("authorization")?.match(/^bearer (\S+)$/i)?.[1] ?? "";
    const acquire = path.match(/^_apis\/runtime\/runnerscalesets\/(\d+)\/acquirejobs$/);
    if (acquire && request.method === "POST") {
      return await this.#acquire(request, +acquire[1]!, bearer);
    }
    const admin = this.#adminTokens.get(bearer);
    if (!admin || admin.org.toLowerCase() !== org.toLowerCase() || admin.expiresAt <= Date.now()) {
      return new Response(null, { status: 401 });
    }
    return await this.#api(request, url, admin.org, path);
  }

  async #register(request: Request): Promise<Response> {
    const token = request.headers.get("authorization")?.match(/^RemoteAuth (\S+)$/)?.[1] ?? "";
    const scope = this.hooks.registrationScope(token);
    const body = await request.json().catch(() => null) as { url?: unknown } | null;
    const org = typeof body?.url === "string" ? body.url.replace(/\/$/, "").split("/").pop() : "";
    if (!scope || scope.includes("/") || scope.toLowerCase() !== org?.toLowerCase()) {
      return error(401, "InvalidTokenException", "The registration token is not for this url");
    }
    const expiresAt = Date.now() + (this.options.adminTokenSeconds ?? 3600) * 1000;
    const admin = fakeJwt(expiresAt);
    this.#adminTokens.set(admin, { org: scope, expiresAt });
    return json(201, { url: `${this.hooks.url()}/_services/actions/${scope}/`, token: admin });
  }

  async #api(request: Request, url: URL, org: string, path: string): Promise<Response> {
    const method = request.method;
    if (method === "GET" && /^_apis\/runtime\/runnergroups\/?$/.test(path)) {
      const name = url.searchParams.get("groupName") ?? "";
      const groups = name.toLowerCase() === "default"
        ? [{ id: 1, name: "Default", size: 0, isDefaultGroup: true }]
        : [];
      return json(200, { count: groups.length, value: groups });
    }
    const sets = this.scaleSets.filter((s) => s.org.toLowerCase() === org.toLowerCase());
    if (path === "_apis/runtime/runnerscalesets") {
      if (method === "GET") {
        const name = url.searchParams.get("name");
        const group = Number(url.searchParams.get("runnerGroupId") ?? 1);
        const found = sets.filter((s) => s.name === name && s.runnerGroupId === group);
        return json(200, { count: found.length, value: found.map((s) => this.#setJson(s)) });
      }
      if (method === "POST") {
        return this.#createScaleSet(
          org,
          await request.json().catch(() => null),
        );
      }
    }
    const one = path.match(/^_apis\/runtime\/runnerscalesets\/(\d+)(?:\/(.*))?$/);
    const set = one && sets.find((s) => s.id === Number(one[1]));
    if (one && !set) return error(404, "RunnerScaleSetNotFoundException", "No such scale set");
    if (set) {
      const rest = one![2] ?? "";
      if (rest === "" && method === "GET") return json(200, this.#setJson(set));
      if (rest === "" && method === "DELETE") {
        this.deleteScaleSet(set.id);
        return new Response(null, { status: 204 });
      }
      if (rest === "sessions" && method === "POST") return await this.#createSession(set, request);
      const session = rest.match(/^sessions\/([^/]+)$/);
      if (session) return this.#session(set, session[1]!, method);
      if (rest === "generatejitconfig" && method === "POST") {
        return await this.#generateJitConfig(set, request);
      }
    }
    const agent = path.match(/^_apis\/distributedtask\/pools\/0\/agents\/(\d+)$/);
    if (agent && method === "DELETE") return this.#deleteAgent(org, Number(agent[1]));
    return error(404, "NotFoundException", `No ${method} ${path}`);
  }

  #createScaleSet(org: string, body: unknown): Response {
    const spec = body as { name?: unknown; runnerGroupId?: unknown; labels?: unknown } | null;
    const labels = Array.isArray(spec?.labels)
      ? spec.labels.flatMap((l) => typeof l?.name === "string" ? [l.name as string] : [])
      : [];
    if (typeof spec?.name !== "string" || spec.name === "" || labels.length === 0) {
      return error(400, "ArgumentException", "A scale set needs a name and labels");
    }
    const group = typeof spec.runnerGroupId === "number" ? spec.runnerGroupId : 1;
    if (group !== 1) return error(404, "RunnerGroupNotFoundException", `No runner group ${group}`);
    if (this.scaleSets.some((s) => s.org === org && s.name === spec.name)) {
      return error(409, "RunnerScaleSetExistsException", `${spec.name} exists`);
    }
    const kept = this.options.oneLabel ? labels.slice(0, 1) : labels;
    const set = { id: this.#nextId++, org, name: spec.name, runnerGroupId: group, labels: kept };
    this.scaleSets.push(set);
    return json(200, this.#setJson(set));
  }

  async #createSession(set: SimScaleSet, request: Request): Promise<Response> {
    const body = await request.json().catch(() => null) as { ownerName?: unknown } | null;
    if ([...this.sessions.values()].some((s) => s.scaleSet === set)) {
      return error(
        409,
        "TaskAgentSessionConflictException",
        `The scale set ${set.name} already has a session`,
      );
    }
    const session: SimSession = {
      id: crypto.randomUUID(),
      scaleSet: set,
      ownerName: typeof body?.ownerName === "string" ? body.ownerName : "",
      queueToken: crypto.randomUUID(),
      messages: [],
      pending: [],
      capacity: 0,
      polling: 0,
      lastSeen: Date.now(),
    };
    this.sessions.set(session.id, session);
    return json(200, this.#sessionJson(session));
  }

  #session(set: SimScaleSet, id: string, method: string): Response {
    const session = this.sessions.get(id);
    if (!session || session.scaleSet !== set) {
      return error(404, "TaskAgentSessionExpiredException", "No such session");
    }
    if (method === "DELETE") {
      this.sessions.delete(id);
      this.#sweep();
      return new Response(null, { status: 204 });
    }
    if (method !== "PATCH") return error(405, "NotSupportedException", method);
    session.queueToken = crypto.randomUUID();
    session.lastSeen = Date.now();
    return json(200, this.#sessionJson(session));
  }

  /** The long poll (GET) and the acknowledgement (DELETE) of a session's queue. */
  async #queue(request: Request, url: URL, id: string, messageId?: string): Promise<Response> {
    const session = this.sessions.get(id);
    if (!session) return error(404, "TaskAgentSessionExpiredException", "No such session");
    const bearer = request.headers.get("authorization")?.match(/^bearer (\S+)$/i)?.[1];
    if (bearer !== session.queueToken) return new Response(null, { status: 401 });
    if (request.method === "DELETE" && messageId) {
      session.messages = session.messages.filter((m) => m.id !== Number(messageId));
      return new Response(null, { status: 204 });
    }
    if (request.method !== "GET") return error(405, "NotSupportedException", request.method);
    const capacity = Number(request.headers.get("x-scalesetmaxcapacity"));
    session.capacity = Number.isSafeInteger(capacity) && capacity >= 0 ? capacity : 0;
    const last = Number(url.searchParams.get("lastMessageId") ?? 0);
    const until = Date.now() + (this.options.longPollSeconds ?? 50) * 1000;
    session.polling++;
    try {
      for (;;) {
        this.#sweep();
        if (!this.sessions.has(id)) {
          return error(404, "TaskAgentSessionExpiredException", "The session ended");
        }
        const message = this.#nextMessageOf(session, last);
        if (message) {
          return json(200, {
            messageId: message.id,
            messageType: "RunnerScaleSetJobMessages",
            body: JSON.stringify(message.events),
            statistics: this.#statistics(session.scaleSet),
          });
        }
        if (Date.now() >= until || request.signal.aborted || this.stopping.aborted) {
          return new Response(null, { status: 202 });
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      session.polling--;
      session.lastSeen = Date.now();
    }
  }

  #nextMessageOf(session: SimSession, last: number) {
    const unacknowledged = session.messages.find((m) => m.id > last);
    if (unacknowledged) return unacknowledged;
    if (session.pending.length === 0) return null;
    const message = { id: this.#nextMessage++, events: session.pending.splice(0) };
    session.messages.push(message);
    return message;
  }

  async #acquire(request: Request, setId: number, bearer: string): Promise<Response> {
    const session = [...this.sessions.values()].find((s) => s.scaleSet.id === setId);
    if (!session) return error(404, "TaskAgentSessionExpiredException", "No session");
    if (bearer !== session.queueToken) return new Response(null, { status: 401 });
    const ids = await request.json().catch(() => null);
    if (!Array.isArray(ids)) return error(400, "ArgumentException", "Give an array of ids");
    const acquired: number[] = [];
    for (const id of ids) {
      const job = this.world.jobs.find((j) => j.id === id);
      if (job && this.#assignable(job) && this.#fits(session, job)) {
        this.#assign(job, session);
        acquired.push(job.id);
      }
    }
    return json(200, { count: acquired.length, value: acquired });
  }

  async #generateJitConfig(set: SimScaleSet, request: Request): Promise<Response> {
    const body = await request.json().catch(() => null) as { name?: unknown } | null;
    if (typeof body?.name !== "string" || body.name === "") {
      return error(400, "ArgumentException", "A runner needs a name");
    }
    const made = this.hooks.addRunner(set.org, body.name, set.labels, set.id);
    if (!made) return error(409, "AgentExistsException", `A runner named ${body.name} exists`);
    return json(200, {
      runner: { id: made.runner.id, name: made.runner.name, runnerScaleSetId: set.id },
      encodedJITConfig: made.config,
    });
  }

  #deleteAgent(org: string, id: number): Response {
    const runner = this.world.runners.find((r) =>
      r.id === id && r.scaleSetId !== undefined && r.scope.toLowerCase() === org.toLowerCase()
    );
    if (!runner) return error(404, "AgentNotFoundException", `No runner ${id}`);
    if (runner.busy) return error(400, "JobStillRunningException", `Runner ${id} runs a job`);
    this.hooks.removeRunner(runner);
    return new Response(null, { status: 204 });
  }

  /**
   * GitHub's side of things, run on every request and every tick of a long poll: sessions that
   * stopped polling end; jobs of scale sets no longer listening, or not taken in time, are
   * queued again; queued jobs are assigned (or offered); runners taking and finishing jobs are
   * told to their scale set's session.
   */
  #sweep(): void {
    const now = Date.now();
    const timeout = (this.options.sessionTimeoutSeconds ?? 120) * 1000;
    for (const [id, session] of this.sessions) {
      if (session.polling === 0 && now - session.lastSeen > timeout) this.sessions.delete(id);
    }
    const requeueMs = (this.options.requeueSeconds ?? 600) * 1000;
    for (const [jobId, { scaleSet, at }] of this.#assigned) {
      const job = this.world.jobs.find((j) => j.id === jobId);
      if (!job || job.status === "completed") {
        // A runner that took the job and finished it between two looks: both are told.
        if (job && job.runnerId !== null) this.#tell(job, "JobStarted");
        if (job) this.#tell(job, "JobCompleted");
        this.#assigned.delete(jobId);
        continue;
      }
      if (job.status === "in_progress") {
        this.#tell(job, "JobStarted");
        continue;
      }
      const listening = this.#sessionOf(scaleSet);
      if (listening && now - at < requeueMs && this.scaleSets.includes(scaleSet)) continue;
      // Back to the queue; a session still listening hears that the job is no longer its.
      this.#assigned.delete(jobId);
      job.scaleSetId = undefined;
      listening?.pending.push(this.#event("JobCompleted", job, { result: "canceled" }));
    }
    this.#assignQueued();
  }

  #assignQueued(): void {
    const queued = this.world.jobs.filter((j) => this.#assignable(j))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
    for (const job of queued) {
      const room = [...this.sessions.values()].filter((s) =>
        this.#fits(s, job) && this.#load(s.scaleSet) < s.capacity
      );
      if (room.length === 0) continue;
      if (this.options.acquire) {
        for (const session of room) {
          const offered = this.#offered.get(session.id) ?? new Set<number>();
          this.#offered.set(session.id, offered);
          if (offered.has(job.id)) continue;
          offered.add(job.id);
          session.pending.push(this.#event("JobAvailable", job, {
            acquireJobUrl: `${this.hooks.url()}/_services/actions/${session.scaleSet.org}/` +
              `_apis/runtime/runnerscalesets/${session.scaleSet.id}/acquirejobs`,
          }));
        }
        continue;
      }
      this.#assign(job, room[Math.floor(Math.random() * room.length)]!);
    }
  }

  #assignable(job: SimJob): boolean {
    return job.status === "queued" && job.labels !== null && job.scaleSetId === undefined;
  }

  #assign(job: SimJob, session: SimSession): void {
    job.scaleSetId = session.scaleSet.id;
    this.#assigned.set(job.id, { scaleSet: session.scaleSet, at: Date.now() });
    this.#told.delete(job.id);
    this.assignments.push({ jobId: job.id, scaleSetId: session.scaleSet.id });
    session.pending.push(this.#event("JobAssigned", job));
  }

  /** Tells the job's session that a runner took or finished it, once each. */
  #tell(job: SimJob, type: "JobStarted" | "JobCompleted"): void {
    if (this.#told.get(job.id) === type) return;
    if (type === "JobCompleted") this.#told.delete(job.id);
    else this.#told.set(job.id, type);
    const scaleSet = this.scaleSets.find((s) => s.id === job.scaleSetId);
    const session = scaleSet && this.#sessionOf(scaleSet);
    if (!session) return;
    const result = job.conclusion === "success" ? "succeeded" : job.conclusion ?? undefined;
    session.pending.push(this.#event(type, job, {
      runnerId: job.runnerId,
      runnerName: job.runnerName,
      ...(type === "JobCompleted" ? { result } : {}),
    }));
  }

  #sessionOf(scaleSet: SimScaleSet): SimSession | undefined {
    return [...this.sessions.values()].find((s) => s.scaleSet === scaleSet);
  }

  /** Whether a job of the session's organization asks only for labels its scale set has. */
  #fits(session: SimSession, job: SimJob): boolean {
    const set = session.scaleSet;
    const have = new Set(set.labels.map((l) => l.toLowerCase()));
    return job.run.repo.owner.login.toLowerCase() === set.org.toLowerCase() &&
      (job.labels ?? []).every((l) => have.has(l.toLowerCase()));
  }

  /** Jobs assigned to the scale set and not finished, running ones included. */
  #load(scaleSet: SimScaleSet): number {
    return this.world.jobs.filter((j) => j.scaleSetId === scaleSet.id && j.status !== "completed")
      .length;
  }

  #statistics(scaleSet: SimScaleSet) {
    const jobs = this.world.jobs.filter((j) =>
      j.scaleSetId === scaleSet.id && j.status !== "completed"
    );
    const runners = this.world.runners.filter((r) => r.scaleSetId === scaleSet.id);
    const busy = runners.filter((r) => r.busy).length;
    return {
      totalAvailableJobs: 0,
      totalAcquiredJobs: jobs.length,
      totalAssignedJobs: jobs.length,
      totalRunningJobs: jobs.filter((j) => j.status === "in_progress").length,
      totalRegisteredRunners: runners.length,
      totalBusyRunners: busy,
      totalIdleRunners: runners.length - busy,
    };
  }

  #event(type: string, job: SimJob, extra: Record<string, unknown> = {}) {
    const run = job.run;
    return {
      messageType: type,
      runnerRequestId: job.id,
      repositoryName: run.repo.name,
      ownerName: run.repo.owner.login,
      jobId: String(job.id),
      jobWorkflowRef: `${run.repo.owner.login}/${run.repo.name}/${run.path}@refs/heads/main`,
      jobDisplayName: job.name,
      workflowRunId: run.id,
      eventName: run.event,
      requestLabels: job.labels ?? [],
      queueTime: job.createdAt,
      scaleSetAssignTime: job.scaleSetId === undefined ? ZERO_TIME : new Date().toISOString(),
      runnerAssignTime: job.status === "queued" ? ZERO_TIME : job.startedAt,
      finishTime: job.completedAt ?? ZERO_TIME,
      ...extra,
    };
  }

  #setJson(set: SimScaleSet) {
    return {
      id: set.id,
      name: set.name,
      runnerGroupId: set.runnerGroupId,
      runnerGroupName: "Default",
      labels: set.labels.map((name) => ({ type: "System", name })),
      RunnerSetting: { ephemeral: true, isElastic: true, disableUpdate: true },
      createdOn: ZERO_TIME,
      statistics: this.#statistics(set),
    };
  }

  #sessionJson(session: SimSession) {
    const org = session.scaleSet.org;
    return {
      sessionId: session.id,
      ownerName: session.ownerName,
      runnerScaleSet: this.#setJson(session.scaleSet),
      messageQueueUrl: `${this.hooks.url()}/_services/actions/${org}/queue/${session.id}`,
      messageQueueAccessToken: session.queueToken,
      statistics: this.#statistics(session.scaleSet),
    };
  }
}

/**
 * What the client got wrong of the protocol as `actions/scaleset` speaks it, or null: the
 * service's calls carry `api-version=6.0-preview` (the queue's in its `Accept` header), and
 * bodies are JSON.
 */
function protocolProblem(request: Request, url: URL, path: string): string | null {
  const queue = path.startsWith("queue/");
  if (!queue && url.searchParams.get("api-version") !== "6.0-preview") {
    return "api-version=6.0-preview is missing";
  }
  if (
    queue && request.method === "GET" &&
    !/api-version=6\.0-preview/.test(request.headers.get("accept") ?? "")
  ) {
    return "Accept: application/json; api-version=6.0-preview is missing";
  }
  if (
    ["POST", "PATCH"].includes(request.method) && request.body !== null &&
    !(request.headers.get("content-type") ?? "").startsWith("application/json")
  ) {
    return "Content-Type: application/json is missing";
  }
  return null;
}

/** An unsigned JWT with `exp` (the client reads it, the service checks its own record). */
function fakeJwt(expiresAt: number): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  return `${part({ alg: "none", typ: "JWT" })}.${
    part({ exp: Math.floor(expiresAt / 1000), nonce: crypto.randomUUID() })
  }.`;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function error(status: number, typeName: string, message: string): Response {
  return json(status, { typeName, message });
}
