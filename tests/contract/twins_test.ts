/** The contract suites run against the simulator's twins. */

import { VirtualClock } from "../../sim/clock.ts";
import { KvTwin } from "../../sim/kv.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin } from "../../sim/objects.ts";
import { kvContract } from "./kv_contract.ts";
import { logContract } from "./log_contract.ts";
import { objectsContract } from "./objects_contract.ts";

kvContract("KvTwin", () => {
  const clock = new VirtualClock(1_700_000_000_000);
  return Promise.resolve({
    kv: new KvTwin({ clock }),
    advance: (ms) => Promise.resolve(clock.advanceBy(ms)),
    close: () => Promise.resolve(),
  });
});

logContract(
  "LogTwin",
  () =>
    Promise.resolve({
      log: new LogTwin({ clock: new VirtualClock(1_700_000_000_000) }),
      close: () => Promise.resolve(),
    }),
  { idle_rounds_max: 20, idle_wait_ms: 0 },
);

objectsContract("ObjectsTwin", () =>
  Promise.resolve({
    objects: new ObjectsTwin(),
    close: () => Promise.resolve(),
  }));
