"""Table of the exploration traces: best full-res objective reached at given costs (full-res evaluations),
and the cost each recipe needs to reach given objective levels. Usage: python benchmarks/compare_explore.py SIZE"""
import glob, json, sys

size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
costs = [10, 20, 30, 50, 75, 100, 150]
rows = {}
for path in sorted(glob.glob(f"benchmarks/results/explore/*_{size}.json")):
    d = json.load(open(path))
    name = path.split("/")[-1].rsplit("_", 1)[0]
    if name == "smoke":
        continue
    rows[name] = (d["cost"], d["value"], " ".join(d.get("argv", [])))
print("| recipe | settings | " + " | ".join(f"@{c}" for c in costs) + " |")
print("|---|---|" + "---|" * len(costs))
for name, (c, v, argv) in rows.items():
    cells = []
    for cc in costs:
        vals = [vv for x, vv in zip(c, v) if x <= cc + 1e-9]
        cells.append(f"{min(vals):.3g}" if vals and max(c) >= cc - 1e-9 else "—")
    print(f"| {name} | {argv} | " + " | ".join(cells) + " |")
levels = [1e7, 8e6, 6e6, 5e6, 4.5e6, 4e6, 3.5e6, 3e6]
print()
print("| recipe | " + " | ".join(f"≤{l:.2g}" for l in levels) + " |")
print("|---|" + "---|" * len(levels))
for name, (c, v, argv) in rows.items():
    cells = []
    for l in levels:
        hit = next((x for x, vv in zip(c, v) if vv <= l), None)
        cells.append("—" if hit is None else f"{hit:.0f}")
    print(f"| {name} | " + " | ".join(cells) + " |")
