/**
 * Optimizely Agent's REST user profile service plugin, as a test plays it: what it sends and how it
 * reads the answers, rewritten here from its public source (optimizely/agent commit 471fdcd,
 * plugins/userprofileservice/services/rest_ups.go and utils.go; go-sdk v2.3.1
 * pkg/utils/requester.go). Nothing is looser than Agent: where the Go code would fail or panic,
 * this throws.
 */

/** The plugin's settings, as under `client.userProfileService.services.rest` in Agent's config.yaml. */
export interface RestUpsConfig {
  host: string;
  lookupPath: string;
  lookupMethod?: string;
  savePath: string;
  saveMethod?: string;
  userIDKey?: string;
  headers?: Record<string, string>;
}

/** go-sdk's `decision.UserProfile`: an id and experiment id → variation id. */
export interface AgentUserProfile {
  id: string;
  experimentBucketMap: Map<string, string>;
}

export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** What Go's json.Marshal writes for a map[string]interface{}: keys sorted at every depth. */
function goMarshal(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goMarshal).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${goMarshal(record[key])}`)
    .join(',')}}`;
}

export class AgentRestUps {
  /** Every request sent, for tests that check the wire. */
  readonly sent: SentRequest[] = [];

  constructor(private readonly config: RestUpsConfig) {}

  private get userIdKey(): string {
    return this.config.userIDKey || 'user_id';
  }

  /**
   * `performRequest`: POST unless a method is configured; the query string only when it is exactly
   * "GET"; `Content-Type` and `Accept: application/json` always, then the configured headers. A
   * success is a 200, nothing else.
   */
  private async perform(
    path: string,
    configured: string | undefined,
    parameters: Record<string, unknown>,
  ): Promise<{ success: boolean; body: string }> {
    const url = new URL(this.config.host + path);
    const method = configured || 'POST';
    let body: string | undefined;
    if (configured === 'GET') {
      for (const [key, value] of Object.entries(parameters)) {
        if (typeof value === 'string') url.searchParams.set(key, value);
        else if (value && typeof value === 'object') url.searchParams.set(key, goMarshal(value));
      }
      // Go's url.Values.Encode sorts the keys.
      url.searchParams.sort();
    } else {
      body = goMarshal(parameters);
    }
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      ...this.config.headers,
    };
    this.sent.push({ method, url: url.toString(), headers, body });
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    return { success: response.status === 200, body: await response.text() };
  }

  /** `Lookup`: an empty profile on any failure; throws where Agent's Go code panics. */
  async lookup(userId: string): Promise<AgentUserProfile> {
    const empty: AgentUserProfile = { id: '', experimentBucketMap: new Map() };
    if (userId === '') return empty;
    const { success, body } = await this.perform(this.config.lookupPath, this.config.lookupMethod, {
      [this.userIdKey]: userId,
    });
    if (!success) return empty;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return empty;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return empty;
    return convertToUserProfile(parsed as Record<string, unknown>, this.userIdKey);
  }

  /** `Save` (synchronous mode): the whole profile; only the status matters. */
  async save(profile: AgentUserProfile): Promise<boolean> {
    if (profile.id === '') return false;
    const buckets: Record<string, unknown> = {};
    for (const [experimentId, variationId] of profile.experimentBucketMap) {
      buckets[experimentId] = { variation_id: variationId };
    }
    const { success } = await this.perform(this.config.savePath, this.config.saveMethod, {
      [this.userIdKey]: profile.id,
      experiment_bucket_map: buckets,
    });
    return success;
  }
}

/** `convertToUserProfile`, including the unchecked `.(string)` assertion that panics in Go. */
function convertToUserProfile(dict: Record<string, unknown>, userIdKey: string): AgentUserProfile {
  const profile: AgentUserProfile = { id: '', experimentBucketMap: new Map() };
  const userId = dict[userIdKey];
  if (typeof userId !== 'string') return profile;
  const map = dict.experiment_bucket_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) return profile;
  profile.id = userId;
  for (const [experimentId, entry] of Object.entries(map)) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const variationId = (entry as Record<string, unknown>).variation_id;
    if (typeof variationId !== 'string') {
      throw new Error(
        `Agent would panic: experiment ${experimentId} has no string variation_id (${JSON.stringify(entry)})`,
      );
    }
    profile.experimentBucketMap.set(experimentId, variationId);
  }
  return profile;
}
