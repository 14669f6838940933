import { describe, expect, it } from "vitest";
import { ago, timeLeft, urgency } from "./time";

describe("timeLeft", () => {
  it("formats minutes and seconds, then hours", () => {
    expect(timeLeft(65_000, 0)).toBe("01:05");
    expect(timeLeft(3_599_999, 0)).toBe("59:59");
    expect(timeLeft(3_600_000 + 61_000, 0)).toBe("1:01:01");
    expect(timeLeft(1_000, 5_000)).toBe("00:00");
  });
});

describe("urgency", () => {
  it("turns amber at the warning and red in the last minute", () => {
    expect(urgency(700_000, 0, 600)).toBe("ok");
    expect(urgency(600_000, 0, 600)).toBe("warning");
    expect(urgency(60_000, 0, 600)).toBe("critical");
    expect(urgency(0, 0, 600)).toBe("expired");
  });
});

describe("ago", () => {
  it("reads like a person would say it", () => {
    expect(ago(0, 5_000)).toBe("just now");
    expect(ago(0, 30_000)).toBe("30 s ago");
    expect(ago(0, 180_000)).toBe("3 min ago");
    expect(ago(0, 7_200_000)).toBe("2 h ago");
  });
});
