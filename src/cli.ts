/**
 * The `freshet` command's production side (`run`, `produce`); one module per
 * command lives in `src/cli/`. `main.ts` adds the simulator's `sim`.
 *
 * @module
 */

export { type ExtraCommand, main } from "./cli/main.ts";
