/**
 * GitHub's JSON objects as the REST API returns them, with every field GitHub's OpenAPI
 * description requires (the contract test checks this), built from the simulator's state.
 */

/** A user or organization account. */
export interface SimAccount {
  login: string;
  id: number;
  type: "User" | "Organization";
}

/** A repository in the simulated world. */
export interface SimRepo {
  id: number;
  owner: SimAccount;
  name: string;
  private: boolean;
  archived: boolean;
  pushedAt: string;
  createdAt: string;
}

/** A workflow run. */
export interface SimRun {
  id: number;
  repo: SimRepo;
  /** The workflow's name. */
  name: string;
  /** The workflow file, `.github/workflows/ci.yml`. */
  path: string;
  workflowId: number;
  runNumber: number;
  event: string;
  headBranch: string;
  headSha: string;
  createdAt: string;
  updatedAt: string;
}

/** A job inside a run. Its status drives its run's status. */
export interface SimJob {
  id: number;
  run: SimRun;
  name: string;
  /** `null` reproduces the malformed answers seen from some GitHub Enterprise versions. */
  labels: string[] | null;
  status: "queued" | "in_progress" | "completed";
  conclusion: "success" | "failure" | "cancelled" | null;
  createdAt: string;
  startedAt: string;
  completedAt: string | null;
  runnerId: number | null;
  runnerName: string | null;
  /** The runner scale set GitHub assigned the job to; only its runners may take it. */
  scaleSetId?: number;
}

/** A self-hosted runner registered to a repository or an organization. */
export interface SimRunner {
  id: number;
  name: string;
  /** `owner/name` for a repository runner, the organization's login for an org runner. */
  scope: string;
  labels: string[];
  status: "online" | "offline";
  busy: boolean;
  ephemeral: boolean;
  /** The scale set it belongs to: it takes only the jobs assigned to that scale set. */
  scaleSetId?: number;
}

/** A release of a repository, with its assets' bytes. */
export interface SimRelease {
  id: number;
  repo: SimRepo;
  tag: string;
  prerelease: boolean;
  draft: boolean;
  createdAt: string;
  assets: SimAsset[];
}

/** One release asset. */
export interface SimAsset {
  id: number;
  name: string;
  bytes: Uint8Array;
}

const HTML = "https://github.com";

/** A `simple-user` object. */
export function accountJson(api: string, account: SimAccount) {
  const url = `${api}/users/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId("U", account.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
    gravatar_id: "",
    url,
    html_url: `${HTML}/${account.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: account.type,
    user_view_type: "public",
    site_admin: false,
  };
}

const REPO_URL_FIELDS: [string, string][] = [
  ["archive_url", "/{archive_format}{/ref}"],
  ["assignees_url", "/assignees{/user}"],
  ["blobs_url", "/git/blobs{/sha}"],
  ["branches_url", "/branches{/branch}"],
  ["collaborators_url", "/collaborators{/collaborator}"],
  ["comments_url", "/comments{/number}"],
  ["commits_url", "/commits{/sha}"],
  ["compare_url", "/compare/{base}...{head}"],
  ["contents_url", "/contents/{+path}"],
  ["contributors_url", "/contributors"],
  ["deployments_url", "/deployments"],
  ["downloads_url", "/downloads"],
  ["events_url", "/events"],
  ["forks_url", "/forks"],
  ["git_commits_url", "/git/commits{/sha}"],
  ["git_refs_url", "/git/refs{/sha}"],
  ["git_tags_url", "/git/tags{/sha}"],
  ["hooks_url", "/hooks"],
  ["issue_comment_url", "/issues/comments{/number}"],
  ["issue_events_url", "/issues/events{/number}"],
  ["issues_url", "/issues{/number}"],
  ["keys_url", "/keys{/key_id}"],
  ["labels_url", "/labels{/name}"],
  ["languages_url", "/languages"],
  ["merges_url", "/merges"],
  ["milestones_url", "/milestones{/number}"],
  ["notifications_url", "/notifications{?since,all,participating}"],
  ["pulls_url", "/pulls{/number}"],
  ["releases_url", "/releases{/id}"],
  ["stargazers_url", "/stargazers"],
  ["statuses_url", "/statuses/{sha}"],
  ["subscribers_url", "/subscribers"],
  ["subscription_url", "/subscription"],
  ["tags_url", "/tags"],
  ["teams_url", "/teams"],
  ["trees_url", "/git/trees{/sha}"],
];

/** A `repository` object (a superset of `minimal-repository`). */
export function repoJson(api: string, repo: SimRepo) {
  const fullName = `${repo.owner.login}/${repo.name}`;
  const url = `${api}/repos/${fullName}`;
  return {
    id: repo.id,
    node_id: nodeId("R", repo.id),
    name: repo.name,
    full_name: fullName,
    owner: accountJson(api, repo.owner),
    private: repo.private,
    visibility: repo.private ? "private" : "public",
    html_url: `${HTML}/${fullName}`,
    description: null,
    fork: false,
    url,
    ...Object.fromEntries(REPO_URL_FIELDS.map(([field, suffix]) => [field, `${url}${suffix}`])),
    git_url: `git://github.com/${fullName}.git`,
    ssh_url: `git@github.com:${fullName}.git`,
    clone_url: `${HTML}/${fullName}.git`,
    svn_url: `${HTML}/${fullName}`,
    mirror_url: null,
    homepage: null,
    language: "TypeScript",
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    size: 1,
    default_branch: "main",
    open_issues: 0,
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    archived: repo.archived,
    disabled: false,
    license: null,
    pushed_at: repo.pushedAt,
    created_at: repo.createdAt,
    updated_at: repo.pushedAt,
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
  };
}

/** A `workflow-run` object. */
export function runJson(api: string, run: SimRun, status: string, conclusion: string | null) {
  const fullName = `${run.repo.owner.login}/${run.repo.name}`;
  const url = `${api}/repos/${fullName}/actions/runs/${run.id}`;
  const repo = repoJson(api, run.repo);
  return {
    id: run.id,
    name: run.name,
    node_id: nodeId("WFR", run.id),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: run.path,
    display_title: run.name,
    run_number: run.runNumber,
    run_attempt: 1,
    event: run.event,
    status,
    conclusion,
    workflow_id: run.workflowId,
    check_suite_id: run.id,
    check_suite_node_id: nodeId("CS", run.id),
    url,
    html_url: `${HTML}/${fullName}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    run_started_at: run.createdAt,
    jobs_url: `${url}/jobs`,
    logs_url: `${url}/logs`,
    check_suite_url: `${api}/repos/${fullName}/check-suites/${run.id}`,
    artifacts_url: `${url}/artifacts`,
    cancel_url: `${url}/cancel`,
    rerun_url: `${url}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${api}/repos/${fullName}/actions/workflows/${run.workflowId}`,
    head_commit: {
      id: run.headSha,
      tree_id: run.headSha,
      message: `Commit for ${run.name}`,
      timestamp: run.createdAt,
      author: { name: "Octo Cat", email: "octocat@example.com" },
      committer: { name: "Octo Cat", email: "octocat@example.com" },
    },
    repository: repo,
    head_repository: repo,
  };
}

/** A `job` object. */
export function jobJson(api: string, job: SimJob) {
  const run = job.run;
  const fullName = `${run.repo.owner.login}/${run.repo.name}`;
  return {
    id: job.id,
    run_id: run.id,
    workflow_name: run.name,
    head_branch: run.headBranch,
    run_url: `${api}/repos/${fullName}/actions/runs/${run.id}`,
    run_attempt: 1,
    node_id: nodeId("CR", job.id),
    head_sha: run.headSha,
    url: `${api}/repos/${fullName}/actions/jobs/${job.id}`,
    html_url: `${HTML}/${fullName}/actions/runs/${run.id}/job/${job.id}`,
    status: job.status,
    conclusion: job.conclusion,
    created_at: job.createdAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    name: job.name,
    steps: [],
    check_run_url: `${api}/repos/${fullName}/check-runs/${job.id}`,
    labels: job.labels,
    runner_id: job.runnerId,
    runner_name: job.runnerName,
    runner_group_id: job.runnerId === null ? null : 1,
    runner_group_name: job.runnerId === null ? null : "Default",
  };
}

/** A `release` object. */
export function releaseJson(api: string, release: SimRelease) {
  const fullName = `${release.repo.owner.login}/${release.repo.name}`;
  const url = `${api}/repos/${fullName}/releases/${release.id}`;
  return {
    url,
    assets_url: `${url}/assets`,
    upload_url:
      `https://uploads.github.com/repos/${fullName}/releases/${release.id}/assets{?name,label}`,
    html_url: `${HTML}/${fullName}/releases/tag/${release.tag}`,
    tarball_url: `${api}/repos/${fullName}/tarball/${release.tag}`,
    zipball_url: `${api}/repos/${fullName}/zipball/${release.tag}`,
    id: release.id,
    node_id: nodeId("RE", release.id),
    tag_name: release.tag,
    target_commitish: "main",
    name: release.tag,
    body: null,
    draft: release.draft,
    prerelease: release.prerelease,
    created_at: release.createdAt,
    published_at: release.createdAt,
    author: accountJson(api, release.repo.owner),
    assets: release.assets.map((asset) => assetJson(api, release, asset)),
  };
}

/** A `release-asset` object; `browser_download_url` leads to the bytes (after a redirect). */
export function assetJson(api: string, release: SimRelease, asset: SimAsset) {
  const fullName = `${release.repo.owner.login}/${release.repo.name}`;
  return {
    url: `${api}/repos/${fullName}/releases/assets/${asset.id}`,
    browser_download_url: `${api}/_downloads/${fullName}/${release.tag}/${asset.name}`,
    id: asset.id,
    node_id: nodeId("RA", asset.id),
    name: asset.name,
    label: null,
    state: "uploaded",
    content_type: "application/octet-stream",
    size: asset.bytes.length,
    digest: null,
    download_count: 0,
    created_at: release.createdAt,
    updated_at: release.createdAt,
    uploader: accountJson(api, release.repo.owner),
  };
}

const BUILT_IN_LABELS = new Set(["self-hosted", "linux", "x64", "arm64"]);

/** A `runner` object. */
export function runnerJson(runner: SimRunner) {
  return {
    id: runner.id,
    name: runner.name,
    os: "Linux",
    status: runner.status,
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    runner_group_id: 1,
    labels: runner.labels.map((name, i) => ({
      id: i + 1,
      name,
      type: BUILT_IN_LABELS.has(name.toLowerCase()) ? "read-only" : "custom",
    })),
  };
}

function nodeId(prefix: string, id: number): string {
  return btoa(`${prefix}_${id}`).replaceAll("=", "");
}
