"""Standalone Kubernetes JSON schemas for kubeconform, from the ones the kubernetes-validate wheel ships.

usage: python deploy/k8s_schemas.py WHEEL K8S_VERSION OUT_DIR

The wheel's schemas point into a shared ``/api/_definitions.json``; kubeconform wants each
schema self-contained, so each gets the definitions it reaches copied under ``$defs``.
Written to OUT_DIR/v<version>-standalone-strict/<kind>-<group>-<version>.json, kubeconform's layout.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

REF = re.compile(r'"\$ref": "(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')


def main(wheel: str, version: str, out: str) -> int:
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
    target = Path(out) / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        definitions = json.loads(z.read(prefix + "_definitions.json"))["$defs"]
        names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith(("_definitions.json", "all.json"))]
        for name in names:
            text = z.read(name).decode().replace('"/api/_definitions.json#/$defs/', '"#/$defs/')
            schema = json.loads(text)
            reached, pending = {}, REF.findall(text)
            while pending:
                ref = pending.pop()
                if ref not in reached and ref in definitions:
                    reached[ref] = definitions[ref]
                    pending += REF.findall(json.dumps(definitions[ref]))
            if reached:
                schema["$defs"] = reached
            (target / Path(name).name).write_text(json.dumps(schema))
    print(f"{len(names)} schemas for Kubernetes v{version} in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
