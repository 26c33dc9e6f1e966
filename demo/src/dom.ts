// The page builds its DOM with these helpers only. Data from etcd (keys, values, error
// messages) becomes text nodes and attribute values, never markup: nothing here parses HTML.

export type Child = Node | string | number | bigint | null | undefined | false;

export interface Props {
  /** Attributes, set with setAttribute; false and undefined leave the attribute out. */
  [attr: string]: string | number | boolean | undefined | Listeners;
}

export interface Listeners {
  [event: string]: (e: Event) => void;
}

/** An element with attributes, listeners (`on: { click }`) and text or element children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props & { on?: Listeners } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, v] of Object.entries(props)) {
    if (name === "on") {
      for (const [event, fn] of Object.entries(v as Listeners)) node.addEventListener(event, fn);
    } else if (v === true) {
      node.setAttribute(name, "");
    } else if (v !== false && v !== undefined) {
      node.setAttribute(name, String(v));
    }
  }
  node.append(...nodes(children));
  return node;
}

/** Replaces an element's children with text or elements. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...nodes(children));
}

function nodes(children: Child[]): Node[] {
  const out: Node[] = [];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    out.push(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return out;
}

/** The element with this id, of this type; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`#${id} is missing`);
  return e;
}

/** An error as one line of text for the page. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`;
  return String(e);
}
