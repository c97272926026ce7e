/**
 * Accessibility checks with axe-core in the page under test: injects
 * axe.min.js once per document and runs the WCAG 2.0/2.1 A and AA rules
 * (and, with `wcag22`, the 2.2 AA ones: target size). Any screen's test can
 * call `expectNoSeriousA11yViolations(page)`.
 */
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
/** WCAG 2.2 AA adds target size (2.5.8). */
const WCAG22_TAGS = [...WCAG_TAGS, "wcag22aa"];

export type AxeImpact = "minor" | "moderate" | "serious" | "critical";

/** One failed rule, with the elements that fail it. */
export interface AxeViolation {
  id: string;
  impact: AxeImpact | null;
  help: string;
  helpUrl: string;
  /** CSS selectors and a summary of why, per failing element. */
  nodes: { target: string; summary: string }[];
}

interface AxeInPage {
  run(
    context: Document | Element | string,
    options: { runOnly: { type: "tag"; values: string[] } },
  ): Promise<{
    violations: {
      id: string;
      impact?: AxeImpact | null;
      help: string;
      helpUrl: string;
      nodes: { target: unknown[]; failureSummary?: string }[];
    }[];
  }>;
}

/**
 * The WCAG 2.x A/AA violations on the page (or inside `selector`),
 * optionally only those of the given impacts.
 */
export async function axeViolations(
  page: Page,
  options: { selector?: string; impacts?: readonly AxeImpact[]; wcag22?: boolean } = {},
): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => "axe" in window);
  if (!loaded) await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(
    async ({ selector, tags }) => {
      const axe = (window as unknown as { axe: AxeInPage }).axe;
      const result = await axe.run(selector ?? document, { runOnly: { type: "tag", values: tags } });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(" "), summary: n.failureSummary ?? "" })),
      }));
    },
    { selector: options.selector, tags: options.wcag22 ? WCAG22_TAGS : WCAG_TAGS },
  );
  const impacts = options.impacts;
  return impacts ? violations.filter((v) => v.impact !== null && impacts.includes(v.impact)) : violations;
}

/** Readable lines for an assertion message. */
export function formatViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map((v) => `${v.impact ?? "?"} ${v.id}: ${v.help}\n${v.nodes.map((n) => `   ${n.target}: ${n.summary}`).join("\n")}`)
    .join("\n");
}

/** Throws, listing them, if axe finds serious or critical WCAG A/AA violations. */
export async function expectNoSeriousA11yViolations(page: Page, selector?: string): Promise<void> {
  const violations = await axeViolations(page, { selector, impacts: ["serious", "critical"] });
  if (violations.length > 0) throw new Error(`axe found serious accessibility violations:\n${formatViolations(violations)}`);
}
