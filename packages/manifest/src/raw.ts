/** Defensive readers for plain data that may not have passed the schema. */

export type RawObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is RawObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function objectAt(value: unknown, key: string): RawObject | undefined {
  if (!isObject(value) || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
  const child = value[key];
  return isObject(child) ? child : undefined;
}

export function listAt(value: unknown, key: string): readonly unknown[] {
  if (!isObject(value) || !Object.prototype.hasOwnProperty.call(value, key)) return [];
  const child = value[key];
  return Array.isArray(child) ? child : [];
}

export function stringAt(value: unknown, key: string): string | undefined {
  if (!isObject(value) || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
  const child = value[key];
  return typeof child === "string" ? child : undefined;
}

export function has(value: unknown, key: string): boolean {
  return isObject(value) && Object.prototype.hasOwnProperty.call(value, key);
}
