/**
 * Optimizely Agent's legacy POST /v1/activate for one resolved person: experiments through the
 * SDK's activate (or getVariation when tracking is off), flags through decide, each answered in
 * Agent's `Decision` shape. The selection rules are Agent's: `type` adds every experiment or flag,
 * `experimentKey`/`featureKey` add one each, and a key named both ways is treated as a flag.
 */
import { OptimizelyDecideOption } from '@optimizely/optimizely-sdk';
import { InvalidRequestError } from '../core/errors';
import type { Project } from '../optimizely/projects';
import { type Attributes, BUCKETING_ID_ATTRIBUTE } from './attributes';
import { accountBucketingId } from './bucketing';
import type { Person } from './decide';

export type Selected = 'experiment' | 'feature';

export interface ActivateQuery {
  types: readonly string[];
  experimentKeys: readonly string[];
  featureKeys: readonly string[];
  /** Only the exact text "true" turns tracking off, as in Agent. */
  disableTracking: boolean;
  /** "true" keeps enabled decisions only, "false" disabled ones only; anything else keeps all. */
  enabled: boolean | undefined;
}

/** Agent's `Decision`, with its field order; `variables` and `error` only when set. */
export interface AgentActivation {
  userId: string;
  experimentKey: string;
  featureKey: string;
  variationKey: string;
  type: '' | Selected;
  variables?: Record<string, unknown>;
  enabled: boolean;
  error?: string;
}

/** Key → what it names, in Agent's order: types first, then experiment keys, then feature keys. */
export function selectKeys(project: Project, query: ActivateQuery): Map<string, Selected> {
  const selected = new Map<string, Selected>();
  for (const type of query.types) {
    if (type === 'experiment')
      for (const key of Object.keys(project.config.experimentsMap)) selected.set(key, 'experiment');
    else if (type === 'feature')
      for (const key of Object.keys(project.config.featuresMap)) selected.set(key, 'feature');
    else throw new InvalidRequestError(`type ${JSON.stringify(type)} not supported`);
  }
  for (const key of query.experimentKeys) selected.set(key, 'experiment');
  for (const key of query.featureKeys) selected.set(key, 'feature');
  return selected;
}

export function activateKeys(
  project: Project,
  person: Person,
  selected: ReadonlyMap<string, Selected>,
  query: ActivateQuery,
  attributes: Attributes,
  accountBucketedFlags: readonly string[],
  /** Runs a decision without the person's saved profile (account-bucketed ones stick to the account). */
  withoutProfile: <T>(decide: () => T) => T = (decide) => decide(),
): AgentActivation[] {
  const userId = person.answerUserId;
  /** The attributes to decide with, and how: account-bucketed decisions bypass the profile. */
  const bucketed = (flagKeys: readonly string[]): { attrs: Attributes; run: <T>(decide: () => T) => T } => {
    for (const flagKey of flagKeys) {
      const accountId = accountBucketingId(flagKey, accountBucketedFlags, person.accountId);
      if (accountId !== null) {
        return { attrs: { ...attributes, [BUCKETING_ID_ATTRIBUTE]: accountId }, run: withoutProfile };
      }
    }
    return { attrs: attributes, run: (decide) => decide() };
  };
  const answers: AgentActivation[] = [];
  for (const [key, kind] of selected) {
    let answer: AgentActivation;
    if (kind === 'experiment') {
      if (!(key in project.config.experimentsMap)) {
        answer = notFound(userId, { experimentKey: key, featureKey: '' }, 'experimentKey not found');
      } else {
        const { attrs, run } = bucketed(project.flagsOfExperiment.get(key) ?? []);
        const variationKey =
          run(() =>
            query.disableTracking
              ? project.client.getVariation(key, person.experimentId, attrs)
              : project.client.activate(key, person.experimentId, attrs),
          ) ?? '';
        answer = {
          userId,
          experimentKey: key,
          featureKey: '',
          variationKey,
          type: 'experiment',
          enabled: variationKey !== '',
        };
      }
    } else if (!(key in project.config.featuresMap)) {
      answer = notFound(userId, { experimentKey: '', featureKey: key }, 'featureKey not found');
    } else {
      const { attrs, run } = bucketed([key]);
      const context = project.client.createUserContext(person.experimentId, attrs);
      const decision = run(() =>
        context.decide(key, query.disableTracking ? [OptimizelyDecideOption.DISABLE_DECISION_EVENT] : []),
      );
      // Agent names the experiment and variation of A/B tests only, never of delivery rules.
      const inExperiment =
        decision.ruleKey !== null && (project.experimentRules.get(key) ?? []).includes(decision.ruleKey);
      answer = {
        userId,
        experimentKey: inExperiment ? (decision.ruleKey ?? '') : '',
        featureKey: key,
        variationKey: inExperiment ? (decision.variationKey ?? '') : '',
        type: 'feature',
        enabled: decision.enabled,
      };
      if (Object.keys(decision.variables).length > 0) {
        answer = { ...answer, variables: decision.variables };
        // Keep Agent's field order: variables before enabled.
        const { enabled, ...rest } = answer;
        answer = { ...rest, enabled };
      }
    }
    if (query.enabled !== undefined && answer.enabled !== query.enabled) continue;
    answers.push(answer);
  }
  return answers;
}

function notFound(
  userId: string,
  keys: { experimentKey: string; featureKey: string },
  error: string,
): AgentActivation {
  return { userId, ...keys, variationKey: '', type: '', enabled: false, error };
}
