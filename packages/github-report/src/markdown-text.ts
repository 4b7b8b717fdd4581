/**
 * Untrusted text (ids and messages from device reports and the manifest) made
 * inert for GitHub-flavoured Markdown: it reads as the same words, but cannot
 * notify anyone, reorder what a reviewer sees, close a table, or become a
 * link, an image, HTML, emphasis or math.
 */
import { terminalText } from "@slmops/diagnostics";

/**
 * ASCII punctuation that starts Markdown syntax inline: code, emphasis,
 * strikethrough, math, links and images (`[`; without it `](…)` is plain
 * text), a table cell's end, and the backslash itself. CommonMark renders a
 * backslash-escaped punctuation character as itself.
 */
const SYNTAX = /[\\`*_~[\]$|]/g;

/** GFM turns `https://…` and `www.…` into links even without brackets; an escaped `:` or `.` keeps them text. */
const AUTOLINK = /(:)(?=\/\/)|(?<=\bwww)(\.)/gi;

/** HTML: the text is shown, never parsed as tags or entities. */
const HTML: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/**
 * Escapes untrusted text for a Markdown paragraph, list item or table cell.
 *
 * - Control characters and bidirectional overrides, isolates and marks are
 *   shown as visible escapes (`\x1b`, `\u202e`, by `terminalText`), so a
 *   right-to-left override cannot make a message read backwards.
 * - `@` is followed by a zero-width space, written as the entity `&#8203;`.
 *   GitHub finds mentions (and teams, `@org/team`) in the rendered text, after
 *   backslash escapes and entities are decoded, so `\@` or `&#64;` would still
 *   notify; an `@` not directly followed by a name is not a mention. The same
 *   is done for `#` before a number, so no issue or pull request gets a
 *   cross-reference. (Renovate and Dependabot neutralise mentions in release
 *   notes the same way.)
 * - `&`, `<`, `>` become entities and Markdown punctuation is
 *   backslash-escaped, so nothing can inject HTML, a link or an image (a bare
 *   `https://` or `www.` stays text too); `|` cannot end a table cell.
 * - A newline becomes `<br>`, so text stays inside its cell or list item.
 */
export function escapeMarkdown(text: string): string {
  return terminalText(text, { multiline: true })
    .replace(/[&<>]/g, (c) => HTML[c] ?? c)
    .replace(SYNTAX, (c) => `\\${c}`)
    .replace(AUTOLINK, (c) => `\\${c}`)
    // One pass: the entity inserted holds `#8`, which must not be matched again.
    .replace(/@|#(?=\d)/g, (c) => `${c}&#8203;`)
    .replace(/\n/g, "<br>");
}

/**
 * Untrusted text for inside a code block (a Mermaid chart, the raw figures),
 * where Markdown and mentions are not processed and entities are not decoded:
 * only control characters and bidirectional marks are made visible.
 */
export function codeBlockText(text: string): string {
  return terminalText(text);
}
