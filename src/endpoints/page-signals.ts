/**
 * The browser's own signals the client listens to: `window`'s online and offline events and
 * `document`'s visibility. Both are injectable (unit specs pass EventTargets); in Node there
 * are none, and nothing listens.
 */
export interface PageSignalSources {
  /** Where "online" and "offline" fire: `window` in a browser. */
  window?: EventTarget | undefined;
  /** Where "visibilitychange" fires, with `hidden`: `document` in a browser. */
  document?: (EventTarget & { readonly hidden: boolean }) | undefined;
}

/** The page's sources, when the runtime has them. */
export function pageSources(): PageSignalSources {
  const g = globalThis as { window?: unknown; document?: unknown };
  const isTarget = (v: unknown): v is EventTarget =>
    typeof v === "object" && v !== null && "addEventListener" in v;
  const doc = g.document;
  return {
    window: isTarget(g.window) ? g.window : undefined,
    document:
      isTarget(doc) && "hidden" in doc ? (doc as EventTarget & { hidden: boolean }) : undefined,
  };
}

export interface PageSignalHandlers {
  online(): void;
  offline(): void;
  visible(): void;
  hidden(): void;
}

/** Calls the handlers on each signal; returns the function that stops listening. */
export function listenToPage(sources: PageSignalSources, on: PageSignalHandlers): () => void {
  const { window: win, document: doc } = sources;
  const online = () => on.online();
  const offline = () => on.offline();
  const visibility = () => (doc?.hidden ? on.hidden() : on.visible());
  win?.addEventListener("online", online);
  win?.addEventListener("offline", offline);
  doc?.addEventListener("visibilitychange", visibility);
  return () => {
    win?.removeEventListener("online", online);
    win?.removeEventListener("offline", offline);
    doc?.removeEventListener("visibilitychange", visibility);
  };
}
