/**
 * Optimizely Agent's legacy POST /v1/activate for one resolved person: experiments through the
 * SDK's activate (or getVariation when tracking is off), flags through decide, each answered in
 * Agent's `Decision` shape. The selection rules are Agent's: `type` adds every experiment or flag,
 * `experimentKey`/`featureKey` add one each, and a key named both ways is treated as a flag.
 *
 * CMAB: a flag with a CMAB rule is decided with the SDK's `decideAsync` (its prediction awaited),
 * and so is a CMAB experiment, through its flag: the SDK's activate and getVariation skip CMAB
 * experiments, which Agent's Go SDK decides (docs/agent-compatibility.md#cmab).
 */

import type { Project } from '../optimizely/projects';
import { OptimizelyDecideOption, type OptimizelyDecision } from '../optimizely/sdk';
import { InvalidRequestError } from '../platform/core/errors';
import { goValue } from '../platform/core/go-json';
import { allMaybe, type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
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
): MaybePromise<AgentActivation[]> {
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
  const decideOptions = query.disableTracking ? [OptimizelyDecideOption.DISABLE_DECISION_EVENT] : [];
  /** A flag's decision: awaited only for a flag with a CMAB rule. */
  const decideFlag = (flagKey: string): MaybePromise<OptimizelyDecision> => {
    const { attrs, run } = bucketed([flagKey]);
    const context = project.client.createUserContext(person.experimentId, attrs);
    return run(() =>
      project.cmabFlags.has(flagKey)
        ? context.decideAsync(flagKey, decideOptions)
        : context.decide(flagKey, decideOptions),
    );
  };
  const answers: MaybePromise<AgentActivation>[] = [];
  for (const [key, kind] of selected) {
    if (kind === 'experiment') {
      if (!(key in project.config.experimentsMap)) {
        answers.push(notFound(userId, { experimentKey: key, featureKey: '' }, 'experimentKey not found'));
        continue;
      }
      const experimentAnswer = (variationKey: string | null): AgentActivation => ({
        userId,
        experimentKey: key,
        featureKey: '',
        variationKey: variationKey ?? '',
        type: 'experiment',
        enabled: (variationKey ?? '') !== '',
      });
      const cmabFlag = (project.flagsOfExperiment.get(key) ?? []).find((f) => project.cmabFlags.has(f));
      if (cmabFlag !== undefined && project.cmabExperiments.has(key)) {
        // The flag's decision, when it is this experiment's: the person's variation of it.
        answers.push(
          thenMaybe(decideFlag(cmabFlag), (d) => experimentAnswer(d.ruleKey === key ? d.variationKey : null)),
        );
        continue;
      }
      const { attrs, run } = bucketed(project.flagsOfExperiment.get(key) ?? []);
      answers.push(
        experimentAnswer(
          run(() =>
            query.disableTracking
              ? project.client.getVariation(key, person.experimentId, attrs)
              : project.client.activate(key, person.experimentId, attrs),
          ),
        ),
      );
    } else if (!(key in project.config.featuresMap)) {
      answers.push(notFound(userId, { experimentKey: '', featureKey: key }, 'featureKey not found'));
    } else {
      answers.push(thenMaybe(decideFlag(key), (decision) => featureAnswer(project, userId, key, decision)));
    }
  }
  const kept = (list: AgentActivation[]) =>
    query.enabled === undefined ? list : list.filter((answer) => answer.enabled === query.enabled);
  return thenMaybe(allMaybe(answers), kept);
}

/** A flag's activation: Agent names the rule and variation of A/B tests and holdouts, never of delivery rules. */
function featureAnswer(
  project: Project,
  userId: string,
  key: string,
  decision: OptimizelyDecision,
): AgentActivation {
  const named =
    decision.ruleKey !== null &&
    ((project.experimentRules.get(key) ?? []).includes(decision.ruleKey) ||
      project.holdoutKeys.has(decision.ruleKey));
  return {
    userId,
    experimentKey: named ? (decision.ruleKey ?? '') : '',
    featureKey: key,
    variationKey: named ? (decision.variationKey ?? '') : '',
    type: 'feature',
    // Agent's field order: variables before enabled.
    ...(Object.keys(decision.variables).length > 0
      ? { variables: goValue(decision.variables) as Record<string, unknown> }
      : {}),
    enabled: decision.enabled,
  };
}

function notFound(
  userId: string,
  keys: { experimentKey: string; featureKey: string },
  error: string,
): AgentActivation {
  return { userId, ...keys, variationKey: '', type: '', enabled: false, error };
}
