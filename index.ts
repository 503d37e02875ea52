// Entry point: `pulumi up` calls the exported function with no arguments; the recording harness
// (plan/record/harness.ts) passes its own services. Everything else lives in program.ts.
import { deployStack, type ProgramDeps } from "./program";

export = (deps?: ProgramDeps) => deployStack(deps);
