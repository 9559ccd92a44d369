/**
 * The runtime of a dataflow's operators for one input partition: elements
 * are pushed from the source down the graph through plain function calls
 * (no promise per record); stateful steps (windows, process functions) keep
 * their state here and fire on the watermark or on processing time.
 *
 * @module
 */

import type { LogRecord } from "../ports.ts";
import { WindowOperator, type WindowResult } from "../core/window_operator.ts";
import { KeyedState } from "../core/state.ts";
import { TimerService } from "../core/timers.ts";
import type {
  KeyedTimers,
  ProcessFunction,
  TimerContext,
  ValueState,
  WindowOptions,
} from "./stream.ts";

/** What a late record missed at one window step. */
export interface LatePart {
  label: string;
  lateness_ms: number;
}

/** The record an element comes from, and what became of it so far. */
export interface Origin {
  record: LogRecord;
  /** Window steps the record was late for (beyond lateness), if any. */
  late: LatePart[] | null;
  /** A step or sink took the record (it counts as `out` unless late). */
  reached: boolean;
  /** Why a step failed on the record (it counts as `dead_lettered`). */
  failed: string | null;
}

/** Pushes an element to the next step(s). */
export type Emit = (
  value: unknown,
  key: string | null,
  time: number,
  origin: Origin | null,
) => void;

/** What steps read from the partition's runtime. */
export interface StepEnv {
  /** The stage's current watermark (windows fire by it). */
  watermark(): number;
  /** The watermark the current element is judged against (its lateness). */
  judgeWatermark(): number;
  /**
   * Elements carry the watermark they are judged by (the stage reads a
   * repartition): session windows judge them more strictly.
   */
  readonly carried_watermarks: boolean;
  /** Processing time: the current record's append time, or the step's time. */
  now(): number;
  /** Event time given to results of windows with no finite end (global). */
  latestTime(): number;
  /** Reports a step's failure on an output that has no source record. */
  outputFailed(step: string, value: unknown, error: unknown): void;
}

/** A stateful step's runtime. */
export interface StepRuntime {
  readonly name: string;
  /** Fires what is due at `watermark`. */
  advance(watermark: number): void;
  /** The end of a batch (emit "updates"/"deltas"). */
  flush(): void;
  /** Fires processing-time timers due at `now_ms`. */
  tick(now_ms: number): void;
  /** The earliest watermark at which `advance` does something. */
  nextEventTimer(): number | undefined;
  /** The earliest processing time at which `tick` does something. */
  nextProcessingTimer(): number | undefined;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}

/**
 * A job's function threw on an element: the element's record is marked
 * failed (it is dead-lettered with the reason), or, for an output with no
 * source record, the failure is reported; the job goes on either way.
 */
export function failed(
  step: string,
  origin: Origin | null,
  env: StepEnv,
  value: unknown,
  error: unknown,
): void {
  if (origin !== null) {
    origin.failed ??= `step '${step}' failed: ${errorText(error)}`;
  } else env.outputFailed(step, value, error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Calls every emit in `children`. */
export function fanOut(children: Emit[]): Emit {
  if (children.length === 1) return children[0]!;
  if (children.length === 0) return () => {};
  return (value, key, time, origin) => {
    for (const child of children) child(value, key, time, origin);
  };
}

/** The runtime of a window step. */
export class WindowStep implements StepRuntime {
  readonly name: string;
  readonly #op: WindowOperator<unknown, unknown, unknown>;
  readonly #env: StepEnv;
  readonly #label: (timestamp: number) => string;
  readonly #lateness_ms: number;
  #results: Emit = () => {};
  #late: Emit = () => {};
  #fired: WindowResult<unknown>[] = [];

  constructor(
    name: string,
    options: WindowOptions<unknown, unknown, unknown>,
    env: StepEnv,
  ) {
    this.name = name;
    this.#env = env;
    this.#lateness_ms = options.allowed_lateness_ms ?? 0;
    this.#label = options.late_label ?? (() => name);
    this.#op = new WindowOperator({
      assigner: options.assigner,
      aggregate: options.aggregate,
      allowed_lateness_ms: options.allowed_lateness_ms,
      emit: options.emit,
      carried_watermarks: env.carried_watermarks,
    });
  }

  /** Connects the step to the steps after it. */
  connect(results: Emit, late: Emit): void {
    this.#results = results;
    this.#late = late;
  }

  readonly push: Emit = (value, key, time, origin) => {
    const accepted = this.#op.add(
      key ?? "",
      time,
      value,
      this.#env.watermark(),
      this.#fired,
      this.#env.carried_watermarks ? this.#env.judgeWatermark() : undefined,
    );
    if (!accepted) {
      if (origin !== null) {
        (origin.late ??= []).push({
          label: this.#label(time),
          lateness_ms: this.#lateness_ms,
        });
      }
      this.#late(value, key, time, origin);
    } else if (origin !== null) origin.reached = true;
    this.#drain();
  };

  advance(watermark: number): void {
    this.#op.advance(watermark, this.#fired);
    this.#drain();
  }

  flush(): void {
    this.#op.flush(this.#fired);
    this.#drain();
  }

  tick(): void {}

  nextEventTimer(): number | undefined {
    return this.#op.nextTimer();
  }

  nextProcessingTimer(): undefined {
    return undefined;
  }

  snapshot(): unknown {
    return this.#op.snapshot();
  }

  restore(snapshot: unknown): void {
    this.#op.restore(snapshot);
  }

  #drain(): void {
    if (this.#fired.length === 0) return;
    const fired = this.#fired;
    this.#fired = [];
    for (const result of fired) {
      const end = result.window.end;
      const time = Number.isFinite(end) ? end - 1 : this.#env.latestTime();
      this.#results(result, result.key, time, null);
    }
  }
}

/** The context a process step re-points before each call. */
type MutableContext = {
  key: string;
  timestamp: number;
  domain: "event" | "processing";
} & TimerContext<unknown, unknown>;

/** JSON-compatible state of a process step. */
interface ProcessSnapshot {
  state: unknown;
  event_timers: unknown;
  processing_timers: unknown;
}

/** The runtime of a process step (Flink's `KeyedProcessFunction`). */
export class ProcessStep implements StepRuntime {
  readonly name: string;
  readonly #fn: ProcessFunction<unknown, unknown, unknown>;
  readonly #env: StepEnv;
  readonly #state: KeyedState<unknown>;
  readonly #event = new TimerService();
  readonly #processing = new TimerService();
  #out: Emit = () => {};
  #origin: Origin | null = null;
  // One context object, re-pointed for each call.
  readonly #ctx: MutableContext;

  constructor(
    name: string,
    fn: ProcessFunction<unknown, unknown, unknown>,
    env: StepEnv,
  ) {
    this.name = name;
    this.#fn = fn;
    this.#env = env;
    const keyed = new KeyedState(fn.state ?? {});
    this.#state = keyed;
    const event = this.#event;
    const processing = this.#processing;
    const ctx: MutableContext = {
      key: "",
      timestamp: 0,
      domain: "event" as "event" | "processing",
      get watermark() {
        return env.watermark();
      },
      get now_ms() {
        return env.now();
      },
      state: {
        get: (): unknown => keyed.get(ctx.key, env.now()),
        set: (value: unknown) => keyed.set(ctx.key, value, env.now()),
        clear: () => keyed.delete(ctx.key),
      } satisfies ValueState<unknown>,
      timers: {
        registerEventTime: (time: number) => event.register(ctx.key, time),
        registerProcessingTime: (time: number) =>
          processing.register(ctx.key, time),
        deleteEventTime: (time: number) => event.delete(ctx.key, time),
        deleteProcessingTime: (time: number) =>
          processing.delete(ctx.key, time),
      } satisfies KeyedTimers,
      emit: (value: unknown, timestamp?: number) =>
        this.#out(value, ctx.key, timestamp ?? ctx.timestamp, this.#origin),
    };
    this.#ctx = ctx;
  }

  /** Connects the step to the steps after it. */
  connect(out: Emit): void {
    this.#out = out;
  }

  readonly push: Emit = (value, key, time, origin) => {
    if (origin !== null) origin.reached = true;
    this.#ctx.key = key ?? "";
    this.#ctx.timestamp = time;
    this.#ctx.domain = "event";
    this.#origin = origin;
    try {
      this.#fn.processElement(value, this.#ctx);
    } catch (error) {
      failed(this.name, origin, this.#env, value, error);
    }
    this.#origin = null;
  };

  advance(watermark: number): void {
    // A timer may register another one that is due already: loop.
    for (;;) {
      const due = this.#event.due(watermark);
      if (due.length === 0) return;
      for (const timer of due) {
        this.#onTimer(timer.key, timer.timestamp, "event");
      }
    }
  }

  flush(): void {}

  tick(now_ms: number): void {
    for (;;) {
      const due = this.#processing.due(now_ms);
      if (due.length === 0) return;
      for (const timer of due) {
        this.#onTimer(timer.key, timer.timestamp, "processing");
      }
    }
  }

  nextEventTimer(): number | undefined {
    return this.#event.next();
  }

  nextProcessingTimer(): number | undefined {
    return this.#processing.next();
  }

  snapshot(): ProcessSnapshot {
    return {
      state: this.#state.snapshot(),
      event_timers: this.#event.snapshot(),
      processing_timers: this.#processing.snapshot(),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<ProcessSnapshot> | null;
    if (s === null || typeof s !== "object") {
      throw new TypeError(
        `Cannot restore process step '${this.name}' as its snapshot must be an object: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#state.restore(s.state);
    this.#event.restore(s.event_timers);
    this.#processing.restore(s.processing_timers);
  }

  #onTimer(key: string, timestamp: number, domain: "event" | "processing") {
    const onTimer = this.#fn.onTimer;
    if (onTimer === undefined) return;
    this.#ctx.key = key;
    this.#ctx.timestamp = timestamp;
    this.#ctx.domain = domain;
    this.#origin = null;
    try {
      onTimer.call(this.#fn, timestamp, this.#ctx);
    } catch (error) {
      failed(this.name, null, this.#env, { key, timestamp, domain }, error);
    }
  }
}
