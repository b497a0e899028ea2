/**
 * How Optimizely Agent's expected `reasons` (Go SDK) and Crosswalk's (JavaScript SDK) are compared
 * by the ported acceptance suite (test/integration/agent/acceptance.test.ts).
 */

/** What a rule may need to know of the project: the flag's delivery rules, the holdout keys. */
export interface ReasonContext {
  /** Keys of the flag's delivery rules, in order (JavaScript names them by position). */
  flagRules: readonly string[];
  holdoutKeys: ReadonlySet<string>;
}

export interface ReasonRule {
  /** What differs between the SDKs, and so why this rule exists. */
  why: string;
  pattern: RegExp;
  /** The canonical line, or null to drop a JavaScript line Go has no counterpart for. */
  canonical: (m: RegExpExecArray, context: ReasonContext) => string | null;
  /** A Go line and the JavaScript line that say the same (test/unit/agent-reasons.test.ts). */
  example?: { go: string; js: string; context?: Partial<ReasonContext> };
}

/**
 * The `reasons` strings are log lines of the SDK that decided. Agent runs the Go SDK; Crosswalk the
 * JavaScript SDK, which words the same facts differently and logs more steps. Both sides are
 * rewritten to one canonical line per fact, and JavaScript lines Go does not give as reasons are
 * dropped. Lines matching no rule (forced decisions, unknown flags: worded identically by both
 * SDKs) are compared as they are. docs/agent-compatibility.md lists the same rules.
 */
export const REASON_RULES: ReasonRule[] = [
  {
    why: 'sticky bucketing, Go wording',
    pattern: /^User "(.+)" was previously bucketed into variation "(.+)" of experiment "(.+)"\.$/,
    canonical: (m) => `sticky user=${m[1]} variation=${m[2]} experiment=${m[3]}`,
    example: {
      go: 'User "matjaz" was previously bucketed into variation "variation_1" of experiment "feature_2_test".',
      js: 'Returning previously activated variation "variation_1" of experiment "feature_2_test" for user "matjaz" from user profile.',
    },
  },
  {
    why: 'sticky bucketing, JavaScript wording ("Returning previously activated variation … from user profile")',
    pattern:
      /^Returning previously activated variation "(.+)" of experiment "(.+)" for user "(.+)" from user profile\.$/,
    canonical: (m) => `sticky user=${m[3]} variation=${m[1]} experiment=${m[2]}`,
  },
  {
    why: 'audience result of an experiment or (Go) a delivery rule by key; Go says "true", JavaScript "TRUE"',
    pattern: /^Audiences for experiment (.+) collectively evaluated to (true|false|TRUE|FALSE)\.$/,
    canonical: (m) => `audiences ${m[1]}=${m[2]?.toLowerCase()}`,
    example: {
      go: 'Audiences for experiment ab_test1 collectively evaluated to true.',
      js: 'Audiences for experiment ab_test1 collectively evaluated to TRUE.',
    },
  },
  {
    why: 'audience result of a delivery rule: JavaScript names it by position ("rule 1", last "rule Everyone Else"), Go by its key',
    pattern: /^Audiences for rule (.+) collectively evaluated to (TRUE|FALSE)\.$/,
    canonical: (m, { flagRules }) => {
      const key = m[1] === 'Everyone Else' ? flagRules[flagRules.length - 1] : flagRules[Number(m[1]) - 1];
      return `audiences ${key ?? m[1]}=${m[2]?.toLowerCase()}`;
    },
    example: {
      go: 'Audiences for experiment default-16928980969 collectively evaluated to true.',
      js: 'Audiences for rule Everyone Else collectively evaluated to TRUE.',
      context: { flagRules: ['16941022436', 'default-16928980969'] },
    },
  },
  {
    why: 'audience result of a holdout: Go says "holdout" and "true", JavaScript "experiment" and "TRUE"',
    pattern: /^Audiences for holdout (.+) collectively evaluated to (true|false)\.$/,
    canonical: (m) => `audiences ${m[1]}=${m[2]}`,
    example: {
      go: 'Audiences for holdout holdout_6 collectively evaluated to true.',
      js: 'Audiences for experiment holdout_6 collectively evaluated to TRUE.',
    },
  },
  {
    why: 'a holdout variation: JavaScript 6.6.1 swaps the variation and the holdout in the sentence',
    pattern: /^User (.+) is in variation (.+) of holdout (.+)\.$/,
    canonical: (m, { holdoutKeys }) => {
      // JavaScript writes the holdout where Go writes the variation.
      const [variation, holdout] = holdoutKeys.has(m[2] ?? '') ? [m[3], m[2]] : [m[2], m[3]];
      return `holdout user=${m[1]} holdout=${holdout} variation=${variation}`;
    },
    example: {
      go: 'User u1 is in variation off of holdout holdout_6.',
      js: 'User u1 is in variation holdout_6 of holdout off.',
      context: { holdoutKeys: new Set(['holdout_6']) },
    },
  },
  {
    why: 'everyone-else rule: Go quotes the user and the rule name, JavaScript quotes neither',
    pattern: /^User "?([^"]+?)"? meets conditions for targeting rule "?Everyone Else"?\.$/,
    canonical: (m) => `everyone-else user=${m[1]}`,
    example: {
      go: 'User "matjaz" meets conditions for targeting rule "Everyone Else".',
      js: 'User matjaz meets conditions for targeting rule Everyone Else.',
    },
  },
  {
    why: 'JavaScript only: a numbered delivery rule met (Go gives no reason for it)',
    pattern: /^User .+ meets conditions for targeting rule \d+\.$/,
    canonical: () => null,
  },
  {
    why: 'JavaScript only: progress lines Go logs at debug level, not as reasons',
    pattern:
      /^(Evaluating audiences for (experiment|rule) |Assigned bucket \d+ to user with bucketing ID |User .+ bucketed into targeting rule |User .+ is in (variation .+ of experiment|rollout of feature|no variation of experiment) |User .+ is not in any variation or rollout rule|User .+ does not meet conditions for targeting rule |Feature .+ is not attached to any experiments\.$)/,
    canonical: () => null,
  },
];

export function canonicalReason(
  reason: string,
  flagRules: readonly string[],
  holdoutKeys: ReadonlySet<string> = new Set(),
): string | null {
  for (const rule of REASON_RULES) {
    const m = rule.pattern.exec(reason);
    if (m) return rule.canonical(m, { flagRules, holdoutKeys });
  }
  return reason;
}
