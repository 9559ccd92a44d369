/**
 * Compiling a dataflow graph into the job the runner drives: one stage per
 * source, its processors (`processor.ts`), its sinks (every sink a `to`
 * step names, plus the side-output topics), and how a producer keys and
 * times a payload (for `produce` and the simulator).
 *
 * @module
 */

import type { Job, Stage } from "../core/job.ts";
import type { LogRecord } from "../ports.ts";
import type { Sink } from "../sinks/sink.ts";
import {
  deadLetterTopic,
  lateTopic,
  sideTopicsSink,
} from "../sinks/side_topics.ts";
import { DataflowProcessor, type DataflowStage } from "./processor.ts";
import type { Flow, GraphNode } from "./stream.ts";

/** Settings of a deployment that the job's graph does not fix. */
export interface CompileOptions {
  /** The job's name: it keys checkpoints, fences and consumer groups. */
  name: string;
  /** Reads this topic instead of the source's (side topics follow it). */
  topic?: string;
}

const DEFAULT_PARTITIONS = 4;

/** The job a flow describes; see the module documentation. */
export function compileFlow(flow: Flow, options: CompileOptions): Job {
  const name = options.name;
  if (flow.sources.length !== 1) {
    throw new RangeError(
      `Cannot compile job '${name}' as it must have exactly one source: it has ${flow.sources.length}`,
    );
  }
  const source = flow.sources[0] as DataflowStage["source"];
  const topic = options.topic ?? source.node.topic;
  const side = sideTopicsSink();
  const sinks = collectSinks(name, source, side);
  const stage: DataflowStage = {
    job: name,
    topic,
    source,
    side,
    dead_letter_topic: deadLetterTopic(topic),
    late_topic: lateTopic(topic),
  };
  const dataflowStage: Stage = {
    topic,
    sinks,
    createProcessor: (partition) => new DataflowProcessor(stage, partition),
  };
  // Bad options (a window size, a bound) fail now, not at the first record.
  new DataflowProcessor(stage, 0);
  const parse = source.node.options.parse;
  return {
    name,
    topic,
    partitions: source.node.options.partitions ?? DEFAULT_PARTITIONS,
    outputTopics: [
      stage.dead_letter_topic,
      stage.late_topic,
      ...sinks.flatMap((s) => s.topics ?? []),
    ],
    out_of_orderness_ms: source.node.options.out_of_orderness_ms,
    route(value) {
      const record: LogRecord = {
        topic,
        partition: 0,
        offset: 0,
        key: null,
        value,
        timestamp: 0,
      };
      try {
        const parsed = parse(value, record);
        if ("error" in parsed || !Number.isFinite(parsed.time)) {
          return { key: null, timestamp: undefined };
        }
        return { key: parsed.key ?? null, timestamp: parsed.time };
      } catch {
        return { key: null, timestamp: undefined };
      }
    },
    stages: [dataflowStage],
  };
}

/** Every sink of the graph (distinct objects, distinct names), side topics first. */
function collectSinks(
  job: string,
  source: GraphNode,
  side: Sink<unknown>,
): Sink<unknown>[] {
  const sinks: Sink<unknown>[] = [side];
  const visit = (g: GraphNode) => {
    if (g.node.kind === "to" && !sinks.includes(g.node.sink)) {
      const sink = g.node.sink;
      const clash = sinks.find((s) => s.name === sink.name);
      if (clash !== undefined) {
        throw new RangeError(
          `Cannot compile job '${job}' as sink names must be unique: two sinks are named '${sink.name}'`,
        );
      }
      sinks.push(sink);
    }
    g.children.forEach(visit);
  };
  visit(source);
  const owners = sinks.filter((s) => s.checkpointLog !== undefined);
  if (owners.length > 1) {
    throw new RangeError(
      `Cannot compile job '${job}' as at most one sink may commit checkpoints: ${
        owners.map((s) => `'${s.name}'`).join(" and ")
      } both do`,
    );
  }
  return sinks;
}
