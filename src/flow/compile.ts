/**
 * Compiling a dataflow graph into the job the runner drives: one stage for
 * the source, and one more after each repartitioning `keyBy` (its upstream
 * end writes to an internal topic, the next stage reads it; see
 * `repartition.ts`). Each stage gets its processors (`processor.ts`), its
 * sinks (every sink a `to` step of the stage names, plus the side-output
 * topics, plus the Kafka sink its repartitions write through), and the job
 * says how a producer keys and times a payload (for `produce` and the
 * simulator).
 *
 * @module
 */

import type { Job, Stage } from "../core/job.ts";
import type { LogRecord } from "../ports.ts";
import type { Sink } from "../sinks/sink.ts";
import { isKafkaSink, kafkaSink } from "../sinks/kafka.ts";
import {
  deadLetterTopic,
  lateTopic,
  type SideMessages,
  sideTopicsSink,
} from "../sinks/side_topics.ts";
import { DataflowProcessor, type DataflowStage } from "./processor.ts";
import { repartitionTopic } from "./repartition.ts";
import type { Flow, GraphNode } from "./stream.ts";

/** Settings of a deployment that the job's graph does not fix. */
export interface CompileOptions {
  /** The job's name: it keys checkpoints, fences and consumer groups. */
  name: string;
  /** Reads this topic instead of the source's (side topics follow it). */
  topic?: string;
  /** The job's default checkpoint interval (see `Job`). */
  checkpoint_interval_ms?: number;
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
  const source = flow.sources[0] as GraphNode & { node: { kind: "source" } };
  const input = options.topic ?? source.node.topic;
  const side = sideTopicsSink();
  const dataflowStages: DataflowStage[] = [];
  const stageSinks: Sink<unknown>[][] = [];

  /** Builds the stage reading `topic` whose graph starts at `roots`. */
  const addStage = (
    topic: string,
    kind: DataflowStage["input"],
    roots: readonly GraphNode[],
  ): void => {
    const index = dataflowStages.length;
    const cuts: Array<{ topic: string; roots: GraphNode[] }> = [];
    // Internal topics are the job's (as Kafka Streams' application id); a
    // deployment on another input topic gets its own.
    const owner = input === source.node.topic ? name : `${name}-${input}`;
    const cutRoots = roots.map((r) => cut(r, owner, cuts));
    const sinks = collectSinks(name, cutRoots, side);
    const repartitions = collectRepartitions(cutRoots);
    if (repartitions.length > 0) {
      // Internal records go out in the stage's transaction.
      let kafka = sinks.find(isKafkaSink);
      if (kafka === undefined) {
        kafka = kafkaSink({
          name: "repartition",
          topics: repartitions.map((r) => r.topic),
        }) as Sink<unknown>;
        sinks.push(kafka);
      }
      for (const r of repartitions) r.sink = kafka;
    }
    checkOwners(name, sinks);
    dataflowStages.push({
      job: name,
      topic,
      input_topic: input,
      input: kind,
      roots: cutRoots,
      side: side as Sink<SideMessages>,
      dead_letter_topic: deadLetterTopic(input),
      late_topic: lateTopic(input),
    });
    stageSinks[index] = sinks;
    for (const c of cuts) {
      addStage(c.topic, { kind: "repartition" }, c.roots);
    }
  };
  addStage(
    input,
    { kind: "source", options: source.node.options },
    source.children,
  );

  const stages: Stage[] = dataflowStages.map((stage, i) => ({
    topic: stage.topic,
    sinks: stageSinks[i]!,
    createProcessor: (partition, context) =>
      new DataflowProcessor(stage, partition, context),
  }));
  // Bad options (a window size, a bound) fail now, not at the first record.
  for (const stage of dataflowStages) {
    new DataflowProcessor(stage, 0, { partitions: 1 });
  }
  const parse = source.node.options.parse;
  return {
    name,
    topic: input,
    partitions: source.node.options.partitions ?? DEFAULT_PARTITIONS,
    outputTopics: [
      deadLetterTopic(input),
      lateTopic(input),
      ...new Set(stageSinks.flat().flatMap((s) => s.topics ?? [])),
    ].filter((t) => !stages.some((s) => s.topic === t)),
    out_of_orderness_ms: source.node.options.out_of_orderness_ms,
    route(value) {
      const route = source.node.options.route;
      if (route !== undefined) {
        try {
          const routed = route(value);
          return routed === null || !Number.isFinite(routed.time)
            ? { key: null, timestamp: undefined }
            : { key: routed.key, timestamp: routed.time };
        } catch {
          return { key: null, timestamp: undefined };
        }
      }
      const record: LogRecord = {
        topic: input,
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
    stages,
    ...(options.checkpoint_interval_ms === undefined
      ? {}
      : { checkpoint_interval_ms: options.checkpoint_interval_ms }),
  };
}

/**
 * A copy of the graph under `g` for one stage: a repartitioning `keyBy`
 * becomes a `repartition` node without children, and what followed it is
 * recorded in `cuts` (the next stage's roots).
 */
function cut(
  g: GraphNode,
  job: string,
  cuts: Array<{ topic: string; roots: GraphNode[] }>,
): GraphNode {
  const node = g.node;
  if (node.kind === "keyBy" && node.options.repartition === true) {
    const topic = repartitionTopic(job, node.options.name!);
    cuts.push({ topic, roots: g.children });
    return {
      id: g.id,
      node: {
        kind: "repartition",
        fn: node.fn,
        topic,
        // Set once the stage's Kafka sink is known.
        sink: undefined as unknown as Sink<unknown>,
      },
      children: [],
    };
  }
  return {
    id: g.id,
    node,
    children: g.children.map((c) => cut(c, job, cuts)),
  };
}

function collectRepartitions(
  roots: readonly GraphNode[],
): Array<{ topic: string; sink: Sink<unknown> }> {
  const found: Array<{ topic: string; sink: Sink<unknown> }> = [];
  const visit = (g: GraphNode) => {
    if (g.node.kind === "repartition") found.push(g.node);
    g.children.forEach(visit);
  };
  roots.forEach(visit);
  return found;
}

/** Every sink of a stage's graph (distinct objects, distinct names), side topics first. */
function collectSinks(
  job: string,
  roots: readonly GraphNode[],
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
  roots.forEach(visit);
  return sinks;
}

function checkOwners(job: string, sinks: readonly Sink<unknown>[]): void {
  const owners = sinks.filter((s) => s.checkpointLog !== undefined);
  if (owners.length > 1) {
    throw new RangeError(
      `Cannot compile job '${job}' as at most one sink of a stage may commit checkpoints: ${
        owners.map((s) => `'${s.name}'`).join(" and ")
      } both do`,
    );
  }
}
