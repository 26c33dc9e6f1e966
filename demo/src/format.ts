// How the page shows keys and values: as text, JSON or hex. Always strings, for textContent.

export type ValueView = "text" | "json" | "hex";

export const valueViews: readonly ValueView[] = ["text", "json", "hex"];

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A value as the chosen view shows it; `note` says why the view could not be used. */
export function formatValue(
  value: Uint8Array,
  view: ValueView,
): { shown: string; note: string | undefined } {
  if (view === "hex") return { shown: hex(value), note: undefined };
  const s = text(value);
  if (view === "json") {
    try {
      return { shown: JSON.stringify(JSON.parse(s), null, 2), note: undefined };
    } catch {
      return { shown: s, note: "not JSON" };
    }
  }
  return { shown: s, note: undefined };
}

/** Bytes as lowercase hex pairs, a space between bytes. */
export function hex(value: Uint8Array): string {
  return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** "3 ms", "1.2 s". */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "just now", "5 s ago", "3 min ago". */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 2) return "just now";
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}
