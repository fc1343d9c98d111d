// The board page's way to its server: GET a JSON endpoint, or throw the server's error message.

import type { RunSummary } from '../runs.js';

export async function getJSON<T>(path: string, query: Record<string, string | number> = {}): Promise<T> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  const res = await fetch(qs ? `${path}?${qs}` : path, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${res.status}`);
  return body as T;
}

/** A run as /api/runs lists it. */
export type RunInfo = RunSummary;

export interface RunsResponse {
  roots: string[];
  truncated: boolean;
  poll_ms: number;
  runs: RunInfo[];
}

export interface SeriesResponse {
  offset: number;
  line: number;
  head: string;
  reset: boolean;
  more: boolean;
  records: { line: number; value: Record<string, unknown> }[];
  problems: { line: number; message: string }[];
}

export type Scalar = string | number | boolean | null;

export interface ConfigResponse {
  id: string;
  dir: string;
  trainer: string | null;
  kind: string | null;
  flat: Record<string, Scalar>;
  problems: { file: string; message: string }[];
}

export interface DiffResponse {
  a: string;
  b: string;
  differ: { key: string; a?: Scalar; b?: Scalar }[];
  same: number;
}

export interface SamplesResponse {
  step_field: string | null;
  steps: { step: number; count: number; meanReward: number | null }[];
  problems: { line: number; message: string }[];
}

export interface SampleStepResponse {
  step: number;
  total: number;
  records: { line: number; value: Record<string, unknown> }[];
}
