/**
 * Optimizely Agent's answers as bytes: what Go's `encoding/json` (through go-chi/render) writes for a
 * given content. Struct fields in their declaration order (Agent's and go-sdk's sources, commit
 * 471fdcd / go-sdk v2.3.1), `omitempty` fields left out when empty, map keys sorted, `<>&` escaped,
 * a final newline. The ported acceptance suite renders each answer's content this way and compares
 * the text Crosswalk sent with it, byte for byte. Written apart from Crosswalk's own encoder
 * (src/platform/core/go-json.ts), so that one cannot pass by agreeing with itself.
 */

/** `interface{}` read back from JSON: every object a map, keys sorted at every depth. */
function goValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(goValue);
  if (value === null || typeof value !== 'object') return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) out[key] = goValue((value as Record<string, unknown>)[key]);
  return out;
}

/** json.Encoder with SetEscapeHTML(true): `<`, `>`, `&`, U+2028, U+2029 escaped; then a newline. */
function goJsonText(value: unknown): string {
  const escaped = JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${escaped}\n`;
}

/** How Go writes a value: a struct (fields in order), a map or slice of something, or `interface{}`. */
export type Shape =
  | { struct: readonly Field[] }
  | { map: Shape }
  | { list: Shape }
  /** `interface{}`/`map[string]interface{}`: whatever it holds, every object a map. */
  | 'any';

interface Field {
  name: string;
  shape: Shape;
  /** `omitempty`: left out when empty (zero value, empty map or slice). */
  omitEmpty?: boolean;
}

const field = (name: string, shape: Shape = 'any', omitEmpty = false): Field => ({
  name,
  shape,
  ...(omitEmpty ? { omitEmpty } : {}),
});
const struct = (...fields: Field[]): Shape => ({ struct: fields });

export const ERROR: Shape = struct(field('error'));

/** go-sdk `client.OptimizelyDecision` embedded in Agent's `DecideOut`. */
export const DECISION: Shape = struct(
  field('variationKey'),
  field('enabled'),
  field('ruleKey'),
  field('flagKey'),
  field('userContext', struct(field('userId'), field('attributes'))),
  field('reasons'),
  field('variables', 'any', true),
  field('isEveryoneElseVariation'),
);

/** Agent `optimizely.Decision` (activate). */
export const ACTIVATION: Shape = struct(
  field('userId'),
  field('experimentKey'),
  field('featureKey'),
  field('variationKey'),
  field('type'),
  field('variables', 'any', true),
  field('enabled'),
  field('error', 'any', true),
);

export const TRACK: Shape = struct(field('userId'), field('eventKey'), field('error', 'any', true));

export const OVERRIDE: Shape = struct(
  field('userId'),
  field('experimentKey'),
  field('variationKey'),
  field('prevVariationKey'),
  field('messages'),
);

export const LOOKUP: Shape = struct(field('userId'), field('experimentBucketMap'));

const VARIABLE = struct(field('id'), field('key'), field('type'), field('value'));
const VARIATION = struct(
  field('id'),
  field('key'),
  field('featureEnabled'),
  field('variablesMap', { map: VARIABLE }),
);
const EXPERIMENT = struct(
  field('id'),
  field('key'),
  field('audiences'),
  field('variationsMap', { map: VARIATION }),
);

/** go-sdk `config.OptimizelyConfig`. */
export const CONFIG: Shape = struct(
  field('environmentKey'),
  field('sdkKey'),
  field('revision'),
  field('experimentsMap', { map: EXPERIMENT }),
  field('featuresMap', {
    map: struct(
      field('id'),
      field('key'),
      field('experimentRules', { list: EXPERIMENT }),
      field('deliveryRules', { list: EXPERIMENT }),
      field('variablesMap', { map: VARIABLE }),
      field('experimentsMap', { map: EXPERIMENT }),
    ),
  }),
  field('attributes', { list: struct(field('id'), field('key')) }),
  field('audiences', { list: struct(field('id'), field('name'), field('conditions')) }),
  field('events', { list: struct(field('id'), field('key'), field('experimentIds')) }),
);

/** Agent's `BatchResponse`; an item's body is what Agent parsed back into `interface{}`. */
export const BATCH: Shape = struct(
  field('startedAt'),
  field('endedAt'),
  field('errorCount'),
  field('response', {
    list: struct(
      field('status'),
      field('requestID'),
      field('operationID'),
      field('method'),
      field('url'),
      field('body'),
      field('startedAt'),
      field('endedAt'),
    ),
  }),
);

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * The content in Go's order; throws on a field the struct does not have, or a field it always
 * writes that is missing (Go would write a different body).
 */
function ordered(value: unknown, shape: Shape, path: string): unknown {
  if (shape === 'any' || value === null || value === undefined) return goValue(value);
  if ('list' in shape) {
    if (!Array.isArray(value)) throw new Error(`${path}: expected a list`);
    return value.map((item, i) => ordered(item, shape.list, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected an object`);
  const record = value as Record<string, unknown>;
  const out = Object.create(null) as Record<string, unknown>;
  if ('map' in shape) {
    for (const key of Object.keys(record).sort())
      out[key] = ordered(record[key], shape.map, `${path}.${key}`);
    return out;
  }
  const known = new Set(shape.struct.map((f) => f.name));
  const unknown = Object.keys(record).filter((key) => !known.has(key));
  if (unknown.length > 0)
    throw new Error(`${path}: fields Agent's struct does not have: ${unknown.join(', ')}`);
  for (const f of shape.struct) {
    if (!(f.name in record)) {
      if (f.omitEmpty) continue;
      throw new Error(`${path}: missing ${f.name}, which Agent always writes`);
    }
    if (f.omitEmpty && isEmpty(record[f.name])) continue;
    out[f.name] = ordered(record[f.name], f.shape, `${path}.${f.name}`);
  }
  return out;
}

/** The exact body Agent writes for this content. */
export function agentBytes(content: unknown, shape: Shape): string {
  return goJsonText(ordered(content, shape, '$'));
}
