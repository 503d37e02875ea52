import * as fs from "fs";
import * as path from "path";
import { areas, keepingOnlyDetected, scoreOf } from "../tools/mutate";

const root = path.resolve(__dirname, "..");

describe("npm run mutate areas", () => {
  it.each(Object.entries(areas))("%s names test files and modules that exist", (_area, { mutate, tests }) => {
    for (const t of tests) expect({ t, exists: fs.existsSync(path.join(root, "tests", `${t}.test.ts`)) }).toEqual({ t, exists: true });
    for (const m of mutate.filter((m) => !m.includes("*")))
      expect({ m, exists: fs.existsSync(path.join(root, m)) }).toEqual({ m, exists: true });
  });

  it("scores killed and timed-out mutants over every valid one; an empty module counts as 100", () => {
    expect(scoreOf({ killed: 8, timeout: 1, survived: 1, noCoverage: 0 })).toBe(90);
    expect(scoreOf({ killed: 0, timeout: 0, survived: 1, noCoverage: 1 })).toBe(0);
    expect(scoreOf({ killed: 0, timeout: 0, survived: 0, noCoverage: 0 })).toBe(100);
  });

  it("keeps only detected mutants in the incremental file, so survivors are tested afresh", () => {
    const report = {
      schemaVersion: "2",
      files: {
        "a.ts": { source: "x", mutants: ["Killed", "Survived", "Timeout", "NoCoverage", "Ignored"].map((status, id) => ({ id, status })) },
        "b.ts": { source: "y", mutants: [{ id: 9, status: "Survived" }] },
      },
    };
    expect(keepingOnlyDetected(report)).toEqual({
      schemaVersion: "2",
      files: {
        "a.ts": {
          source: "x",
          mutants: [
            { id: 0, status: "Killed" },
            { id: 2, status: "Timeout" },
          ],
        },
        "b.ts": { source: "y", mutants: [] },
      },
    });
  });
});
