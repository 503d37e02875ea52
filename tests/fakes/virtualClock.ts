import type { Clock } from "../../components/talos/machineApi/clock";

/**
 * A clock for flows against the fakes: sleeping advances time at once (and yields a turn, so the
 * fakes' sockets are served), while every poll still makes real calls. `slept` lists each pause.
 */
export function virtualClock(startMs = 0): Clock & { slept: number[] } {
  let now = startMs;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
