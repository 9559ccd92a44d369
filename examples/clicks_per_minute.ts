import {
  count,
  defineJob,
  formatIso,
  jsonEvents,
  redisSink,
  tumbling,
} from "../mod.ts";

// Clicks per user and minute of event time, to a Redis hash per user.
export default defineJob({
  name: "clicks-per-minute",
  build(flow) {
    const redis = redisSink();
    flow
      .source("clicks", {
        parse: jsonEvents({ key: "user", time: "ts" }), // bad lines: clicks.dead-letter
        out_of_orderness_ms: 5_000,
        idle_advance_ms: 10_000, // a quiet stream still closes its windows
      })
      .keyBy((click) => click.user as string)
      .window({ assigner: tumbling({ size_ms: 60_000 }), aggregate: count() })
      .to(redis, (r, kv) => {
        kv.hset(`clicks:${r.key}`, formatIso(r.window.start), String(r.value));
        kv.pexpire(`clicks:${r.key}`, 86_400_000);
      });
  },
});
