/**
 * Untrusted text (ids and messages from reports and the manifest) made inert
 * in HTML: control characters and bidirectional overrides shown as visible
 * escapes (so a message cannot read backwards), markup characters as entities.
 */
import { terminalText } from "@slmops/diagnostics";

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an HTML element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return terminalText(text, { multiline: true }).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}
