import { describe, expect, it } from '@jest/globals';
import { canonicalReason, REASON_RULES } from '../support/agent-reasons';

describe('the reason rewrites of the ported Agent suite', () => {
  const paired = REASON_RULES.filter((rule) => rule.example !== undefined);

  it.each(paired.map((rule) => [rule.why, rule] as const))(
    'maps the Go and JavaScript wording to one line: %s',
    (_why, rule) => {
      const { go, js, context } = rule.example!;
      const rewrite = (line: string) =>
        canonicalReason(line, context?.flagRules ?? [], context?.holdoutKeys ?? new Set());
      expect(rewrite(go)).not.toBeNull();
      expect(rewrite(go)).not.toBe(go);
      expect(rewrite(js)).toBe(rewrite(go));
    },
  );

  it('drops JavaScript progress lines Go keeps to its debug log, and keeps lines both SDKs word alike', () => {
    expect(canonicalReason('Assigned bucket 1552 to user with bucketing ID u1.', [])).toBeNull();
    expect(
      canonicalReason('Evaluating audiences for experiment "holdout_6": ["or","5841838209236992"].', []),
    ).toBeNull();
    const same = 'User u1 meets conditions for holdout holdout_6.';
    expect(canonicalReason(same, [])).toBe(same);
  });
});
