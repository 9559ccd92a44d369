/**
 * The `freshet` command. Production commands live in `src/cli.ts`; the
 * simulator's in `sim/cli.ts`, and the twins `run` embeds without `--prod`
 * in `sim/embedded.ts` (`src/` never imports `sim/`).
 *
 * @module
 */

import { main } from "./src/cli.ts";
import { SIM_HELP, simCommand } from "./sim/cli.ts";
import { embeddedBackends } from "./sim/embedded.ts";

if (import.meta.main) {
  Deno.exit(
    await main(
      Deno.args,
      { sim: { run: simCommand, help: SIM_HELP } },
      { embedded: embeddedBackends },
    ),
  );
}
