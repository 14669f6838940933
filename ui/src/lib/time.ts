// Countdowns: pure functions, tested with Vitest.

/** "mm:ss", or "h:mm:ss" from an hour up; "00:00" once past. */
export function timeLeft(expiresAtMs: number, nowMs: number): string {
  const secs = Math.max(0, Math.floor((expiresAtMs - nowMs) / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  if (secs >= 3600) return `${Math.floor(secs / 3600)}:${two(Math.floor((secs % 3600) / 60))}:${two(secs % 60)}`;
  return `${two(Math.floor(secs / 60))}:${two(secs % 60)}`;
}

export type Urgency = "ok" | "warning" | "critical" | "expired";

/** Amber from the warning, red in the last minute. */
export function urgency(expiresAtMs: number, nowMs: number, warningSeconds: number): Urgency {
  const left = (expiresAtMs - nowMs) / 1000;
  if (left <= 0) return "expired";
  if (left <= 60) return "critical";
  if (left <= warningSeconds) return "warning";
  return "ok";
}

/** "3 min ago", "just now", for the time of the last refresh. */
export function ago(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}
