import { type Browser, chromium } from "@playwright/test";

// Debian's Chromium (Playwright's own download does not work on these machines), without the
// background traffic that a closed network answers with refusals.
const baseArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Chromium for the benchmarks' pages, with any extra flags. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...baseArgs, ...extraArgs],
  });
}
