#!/usr/bin/env python3
"""Times Helm v4 itself rendering the helm-oracle cases, for `cargo bench --bench helm`.

Helm v4.2.3's Go SDK (pip install helm-python-sdk==0.2.2 pyyaml) renders each case through
the code path of `helm template` (install, client-only dry run), in-process: chart loading,
values, schema checks, rendering and the release manifest, as kiln's bench does. Cases Helm
rejects are left out, as the bench leaves them out. Run it through the oracle's recorder so
remote schema $refs are answered locally:

    python3 ../shared/corpus/helm-oracle/record.py --with-proxy \
        "python3 benches/helm/helm_v4_time.py" ../shared/corpus/helm-oracle

It prints the best of ROUNDS rounds over all cases, in milliseconds.
"""
import json
import os
import sys
import time

import yaml
import helm_python as helm
from helm_python import _native
from helm_python.chart import Chart
from helm_python.config import Config

ORACLE = os.path.join(os.path.dirname(__file__), "../../../shared/corpus/helm-oracle")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
users: [{name: none, user: {}}]
"""


def cases():
    out = []
    for name in sorted(os.listdir(ORACLE)):
        d = os.path.join(ORACLE, name)
        if not os.path.isfile(os.path.join(d, "case.yaml")) or os.path.exists(os.path.join(d, "error.txt")):
            continue
        with open(os.path.join(d, "case.yaml")) as f:
            case = yaml.safe_load(f)
        with open(os.path.join(d, "values.yaml")) as f:
            text = f.read()
        values = helm.values_from_yaml(text) if text.strip() else {}
        out.append((os.path.normpath(os.path.join(d, case["chart"])), case, values))
    return out


def render(chart_dir, case, values):
    opts = {"namespace": case.get("namespace", "default"), "dry_run": "client", "kube_version": case.get("kube_version", "v1.36.0")}
    if case.get("api_versions"):
        opts["api_versions"] = list(case["api_versions"])
    with Config(kubeconfig_content=KUBECONFIG, namespace=opts["namespace"], storage_driver="memory") as cfg, Chart.load(chart_dir) as ch:
        _native.call_string("helm_install", cfg._raw(), _native.HANDLE(0), ch._raw(), None,
                            case.get("release", "release-name"), json.dumps(values), json.dumps(opts))


def main():
    all_cases = cases()
    best = None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for c in all_cases:
            render(*c)
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    print(f"Helm v4 ({helm.helm_sdk_version()}): {len(all_cases)} cases, best of {ROUNDS} rounds: {best * 1000:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
