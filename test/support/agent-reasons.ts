/**
 * How Optimizely Agent's expected `reasons` (Go SDK) and Crosswalk's (JavaScript SDK) are compared
 * by the ported acceptance suite (test/integration/agent/acceptance.test.ts).
 */

export interface ReasonRule {
  /** What differs between the SDKs, and so why this rule exists. */
  why: string;
  pattern: RegExp;
  /** The canonical line, or null to drop a JavaScript line Go has no counterpart for. */
  canonical: (m: RegExpExecArray, flagRules: readonly string[]) => string | null;
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
  },
  {
    why: 'audience result of a delivery rule: JavaScript names it by position ("rule 1", last "rule Everyone Else"), Go by its key',
    pattern: /^Audiences for rule (.+) collectively evaluated to (TRUE|FALSE)\.$/,
    canonical: (m, rules) => {
      const key = m[1] === 'Everyone Else' ? rules[rules.length - 1] : rules[Number(m[1]) - 1];
      return `audiences ${key ?? m[1]}=${m[2]?.toLowerCase()}`;
    },
  },
  {
    why: 'everyone-else rule: Go quotes the user and the rule name, JavaScript quotes neither',
    pattern: /^User "?([^"]+?)"? meets conditions for targeting rule "?Everyone Else"?\.$/,
    canonical: (m) => `everyone-else user=${m[1]}`,
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

export function canonicalReason(reason: string, flagRules: readonly string[]): string | null {
  for (const rule of REASON_RULES) {
    const m = rule.pattern.exec(reason);
    if (m) return rule.canonical(m, flagRules);
  }
  return reason;
}
