// Value cells: each remembers its bytes, so switching between text, JSON and hex redraws every
// value on the page from the bytes, never from what was shown.
import { el } from "./dom.js";
import { formatValue, type ValueView } from "./format.js";

let current: ValueView = "text";
const sources = new WeakMap<Element, Uint8Array>();

/** A cell showing value in the current view; "(none)" for no value. */
export function valueCell(value: Uint8Array | undefined, testid = "value"): HTMLElement {
  if (value === undefined) return el("span", { class: "value none", "data-testid": testid }, "—");
  const cell = el("span", { class: "value", "data-value": true, "data-testid": testid });
  sources.set(cell, value);
  draw(cell, value);
  return cell;
}

export function setValueView(view: ValueView): void {
  current = view;
  for (const cell of document.querySelectorAll("[data-value]")) {
    const value = sources.get(cell);
    if (value && cell instanceof HTMLElement) draw(cell, value);
  }
}

function draw(cell: HTMLElement, value: Uint8Array): void {
  const { shown, note } = formatValue(value, current);
  cell.textContent = shown;
  cell.dataset.view = current;
  if (note) cell.dataset.note = note;
  else delete cell.dataset.note;
  cell.title = note ? `${note}; shown as text` : `${value.length} bytes`;
}
