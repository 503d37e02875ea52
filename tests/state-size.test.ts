import { perAddedNode, type StateSize } from "../tools/stateSize";

const size = (nodes: number, dynamicBytes: number, totalBytes: number): StateSize => ({
  nodes,
  resources: 0,
  dynamicBytes,
  providerBytes: 0,
  totalBytes,
  byType: {},
});

describe("state bytes per added node (npm run bench)", () => {
  it("takes the slope between two sizes, so the cluster-wide resources do not count as per-node cost", () => {
    // 50 KB of cluster-wide state plus 20 KB (of which 15 KB dynamic) per node.
    const small = size(30, 30 * 15_000 + 4_000, 50_000 + 30 * 20_000);
    const large = size(300, 300 * 15_000 + 4_000, 50_000 + 300 * 20_000);
    expect(perAddedNode(small, large)).toEqual({ dynamicBytes: 15_000, totalBytes: 20_000, fixedBytes: 50_000 });
  });
});
