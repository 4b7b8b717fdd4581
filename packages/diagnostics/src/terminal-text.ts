/**
 * Untrusted text (ids from a manifest, messages from a bench report) made safe
 * to print on a terminal. A terminal acts on control characters: ESC starts
 * sequences that move the cursor, recolour, retitle the window or (OSC 8)
 * hide a link behind innocent text; CR and backspace overwrite what was
 * printed; BEL rings. Bidirectional overrides and isolates reorder what is
 * shown, so a line can read differently from what it says. Each such
 * character is shown as a visible escape (`\x1b`, `\u202e`) instead, which
 * keeps the text readable and the tampering evident.
 */

/**
 * C0 controls except tab, DEL, C1 controls, the bidirectional marks,
 * embeddings, overrides and isolates, and the Unicode line and paragraph
 * separators.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The same set, newline (LF) allowed. */
// eslint-disable-next-line no-control-regex -- as above
const UNSAFE_KEEPING_NEWLINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export interface TerminalTextOptions {
  /** Keep newlines (for text printed as several lines); default false: a newline is shown as `\n`. */
  readonly multiline?: boolean;
}

function escape(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Untrusted text with every character a terminal would act on shown escaped. */
export function terminalText(text: string, options: TerminalTextOptions = {}): string {
  return text.replace(options.multiline === true ? UNSAFE_KEEPING_NEWLINES : UNSAFE, escape);
}

