/**
 * Whether a person qualifies for an experiment's audiences, read from the project's datafile, for
 * one purpose: deciding whether a saved user-profile entry (sticky bucketing) is still honoured for
 * a client key (agent/agent-state.ts). The SDK honours a saved variation before it looks at
 * audiences; Crosswalk honours it for client keys only while the attributes Crosswalk itself holds
 * still qualify, so an entry nobody qualifies for any more cannot keep a person in an experiment.
 *
 * Optimizely's condition trees, with its three-valued logic (true, false, unknown): `and` / `or` /
 * `not` over audience ids (experiment level) and over `custom_attribute` leaves (audience level),
 * match types exact, exists, substring, gt, ge, lt, le. Anything else (semver, ODP segments, a
 * malformed tree) is unknown, and only a definite true honours an entry: when in doubt the SDK
 * decides afresh by the datafile's own rules, which is never wrong, only less sticky.
 */
import type { AttributeValue } from '../agent/attributes';
import type { Project } from './projects';

type Tree = unknown;

interface Audiences {
  /** Experiment id → its audience tree over audience ids; absent: no experiment of that id. */
  experiments: Map<string, Tree>;
  /** Audience id → its condition tree. */
  audiences: Map<string, Tree>;
}

const byProject = new WeakMap<Project, Audiences>();

function parseConditions(conditions: unknown): Tree {
  if (typeof conditions !== 'string') return conditions;
  try {
    return JSON.parse(conditions) as Tree;
  } catch {
    return undefined;
  }
}

interface DatafileShape {
  audiences?: { id: string; conditions: unknown }[];
  typedAudiences?: { id: string; conditions: unknown }[];
  experiments?: { id: string; audienceIds?: string[]; audienceConditions?: unknown }[];
  groups?: { experiments?: DatafileShape['experiments'] }[];
}

function audiencesOf(project: Project): Audiences {
  let found = byProject.get(project);
  if (found) return found;
  const datafile = JSON.parse(project.datafile) as DatafileShape;
  const audiences = new Map<string, Tree>();
  // Typed audiences win over legacy ones of the same id, as in the SDK.
  for (const audience of [...(datafile.audiences ?? []), ...(datafile.typedAudiences ?? [])])
    audiences.set(audience.id, parseConditions(audience.conditions));
  const experiments = new Map<string, Tree>();
  const all = [
    ...(datafile.experiments ?? []),
    ...(datafile.groups ?? []).flatMap((g) => g.experiments ?? []),
  ];
  for (const experiment of all) {
    experiments.set(
      experiment.id,
      experiment.audienceConditions ?? ['or', ...(experiment.audienceIds ?? [])],
    );
  }
  found = { experiments, audiences };
  byProject.set(project, found);
  return found;
}

type Truth = boolean | null;

function combine(tree: Tree, leaf: (node: unknown) => Truth, depth: number): Truth {
  if (depth > 32) return null;
  if (!Array.isArray(tree)) return leaf(tree);
  if (tree.length === 0) return true;
  const [first, ...rest] = tree as unknown[];
  const operator = first === 'and' || first === 'or' || first === 'not' ? first : 'or';
  const operands = operator === first ? rest : tree;
  // No audience at all: everyone qualifies (an experiment without audiences).
  if (operands.length === 0) return true;
  if (operator === 'not') {
    const value = combine(operands[0], leaf, depth + 1);
    return value === null ? null : !value;
  }
  let unknown = false;
  for (const operand of operands) {
    const value = combine(operand, leaf, depth + 1);
    if (value === null) unknown = true;
    else if (operator === 'and' && !value) return false;
    else if (operator === 'or' && value) return true;
  }
  if (unknown) return null;
  return operator === 'and';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function condition(node: unknown, attributes: Readonly<Record<string, AttributeValue>>): Truth {
  if (node === null || typeof node !== 'object') return null;
  const { type, match, name, value } = node as {
    type?: unknown;
    match?: unknown;
    name?: unknown;
    value?: unknown;
  };
  if (type !== 'custom_attribute' || typeof name !== 'string') return null;
  const actual = Object.hasOwn(attributes, name) ? attributes[name] : undefined;
  if ((match ?? 'exact') === 'exists') return actual !== undefined && actual !== null;
  if (actual === undefined || actual === null) return null;
  switch (match ?? 'exact') {
    case 'exact':
      if (typeof value !== typeof actual) return null;
      return value === actual;
    case 'substring':
      return typeof value === 'string' && typeof actual === 'string' ? actual.includes(value) : null;
    case 'gt':
      return isNumber(value) && isNumber(actual) ? actual > value : null;
    case 'ge':
      return isNumber(value) && isNumber(actual) ? actual >= value : null;
    case 'lt':
      return isNumber(value) && isNumber(actual) ? actual < value : null;
    case 'le':
      return isNumber(value) && isNumber(actual) ? actual <= value : null;
    default:
      return null;
  }
}

/**
 * True only when `attributes` certainly qualify for the audiences of experiment `experimentId` in
 * this project's datafile (an experiment without audiences: everyone). False when they do not, when
 * it cannot be told, and when the datafile has no such experiment.
 */
export function qualifiesForExperiment(
  project: Project,
  experimentId: string,
  attributes: Readonly<Record<string, AttributeValue>>,
): boolean {
  const { experiments, audiences } = audiencesOf(project);
  const tree = experiments.get(experimentId);
  if (tree === undefined) return false;
  const verdict = combine(
    tree,
    (audienceId) => {
      if (typeof audienceId !== 'string') return null;
      const conditions = audiences.get(audienceId);
      if (conditions === undefined) return null;
      return combine(conditions, (node) => condition(node, attributes), 0);
    },
    0,
  );
  return verdict === true;
}
