/**
 * Turns the bytes of a manifest into text, refusing what is not UTF-8 text:
 * binary data, other encodings, NUL and other control characters.
 */
import { decodeUtf8, positionOfOffset, type SourcePosition } from "@slmops/diagnostics";

/** A refusal carries the line and column of the offending character (or byte). */
export type DecodeResult = { ok: true; text: string } | { ok: false; message: string; hint?: string; position: SourcePosition };

export function decodeManifestText(input: string | Uint8Array): DecodeResult {
  let text: string;
  if (typeof input === "string") {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
      return { ok: false, message: "the manifest is UTF-16 text; slmops reads UTF-8 only", hint: "save the file as UTF-8", position: { line: 1, column: 1 } };
    }
    const decoded = decodeUtf8(input);
    if (!decoded.ok) return { ok: false, message: "the manifest is not UTF-8 text (is it a binary file?)", hint: "slmops.yaml must be a UTF-8 YAML text file", position: decoded.position };
    text = decoded.text;
  }
  const control = findControlCharacter(text);
  if (control !== -1) {
    const code = text.charCodeAt(control);
    const what = code === 0 ? "a NUL byte" : `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    return { ok: false, message: `the manifest contains ${what} (is it a binary file?)`, hint: "slmops.yaml must be a UTF-8 YAML text file", position: positionOfOffset(text, control) };
  }
  return { ok: true, text };
}

/** Index of the first character YAML forbids (C0 controls other than tab, LF, CR; DEL; C1 controls), or -1. */
function findControlCharacter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || (c >= 0x80 && c <= 0x9f && c !== 0x85)) return i;
  }
  return -1;
}
