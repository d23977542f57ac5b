/**
 * The inspect tree as plain JSON, the form the HTTP API, `tsvmm ctl
 * inspect` and the library return: a node with children becomes an object,
 * a leaf its value. JSON has no 64-bit integers, so bigints become decimal
 * strings; values tagged `hex` become "0x..." strings, as people read
 * addresses and registers.
 */
import type { InspectNode } from '../bus/device.js';

/** A JSON-able inspect value. */
export type InspectJson = string | number | boolean | null | { readonly [name: string]: InspectJson };

/** Converts an inspect node (and its subtree) to plain JSON. */
export function inspectToJson(node: InspectNode): InspectJson {
  if (node.children !== undefined) {
    const out: Record<string, InspectJson> = {};
    for (const [name, child] of Object.entries(node.children)) out[name] = inspectToJson(child);
    return out;
  }
  return leafToJson(node.value, node.hex === true);
}

function leafToJson(value: InspectNode['value'], hex: boolean): InspectJson {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return hex ? `0x${value.toString(16)}` : value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value); // JSON has no NaN or Infinity
    if (hex && Number.isInteger(value)) return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
    return value;
  }
  return value;
}

/** Flattens a JSON inspect value into "path: value" lines (the REPL's rendering). */
export function inspectLines(value: InspectJson, prefix = ''): string[] {
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${prefix || '/'}: {}`];
    return entries.flatMap(([name, child]) => inspectLines(child, prefix ? `${prefix}/${name}` : name));
  }
  return [`${prefix || '/'}: ${typeof value === 'string' ? value : JSON.stringify(value)}`];
}
