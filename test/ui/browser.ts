import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

// Debian's chromium, headless, with a fresh profile and nothing that reaches out to the internet.

// CHROMIUM_PATH, when set, is the only candidate (so a missing browser can be tried on a machine that has one).
const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
export const HOW_TO_ENABLE = "Chromium browser tests skipped: apt-get install -y chromium (or set CHROMIUM_PATH) to run them";

export function chromiumPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error("chromium not found: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH");
  return found;
}

/**
 * True when the browser tests run: always in CI (CI set), where a missing browser must fail them; elsewhere only when
 * chromium is installed, saying once how to enable them when it is not.
 */
export function browserTestsEnabled(): boolean {
  const inCi = /^(?!0$|false$)./i.test(process.env.CI ?? "");
  if (inCi || CANDIDATES.some((p) => existsSync(p))) return true;
  console.log(HOW_TO_ENABLE);
  return false;
}

export async function launchBrowser(
  viewport = { width: 1280, height: 900 },
  javaScriptEnabled = true,
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "relay-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    viewport,
    javaScriptEnabled,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
