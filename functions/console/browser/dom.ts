/**
 * Building the page's elements. Every text becomes a text node, never parsed as markup, so traits
 * and identifiers cannot inject any; no style attribute either (the CSP's style-src 'self' refuses
 * it). `byId` finds the page's fixed elements (functions/console/assets/page.ts) and fails loudly
 * if the markup and this script ever disagree.
 */

type Child = Node | string | false | null | undefined;
type Attributes = Record<string, string | number | boolean | null | undefined>;

export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`console page: #${id} is missing or not a ${kind.name}`);
  return node;
}

/**
 * An element with attributes and children (strings become text). `hidden` and `checked` are set as
 * properties; an attribute whose value is undefined, null or false is left out, true is present.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | readonly Child[])[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'hidden') node.hidden = true;
    else if (name === 'checked' && node instanceof HTMLInputElement) node.checked = true;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((child) => child !== undefined && child !== null && child !== false));
  return node;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** A card of the result: a titled section. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return el('section', { class: 'card' }, el('h2', {}, title), ...children);
}

export function table(
  head: readonly string[],
  rows: readonly Node[],
  attributes: Attributes,
): HTMLTableElement {
  return el(
    'table',
    attributes,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        head.map((h) => el('th', {}, h)),
      ),
    ),
    el('tbody', {}, rows),
  );
}

/** A value as shown in a cell: strings as they are, anything else as JSON. */
export const shown = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
