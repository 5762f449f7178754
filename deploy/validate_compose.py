"""Validate docker-compose.yml against the Compose Specification JSON schema (used by `make validate-deploy`).

usage: python deploy/validate_compose.py SCHEMA [COMPOSE_FILE]

The schema is the Compose Specification's compose_spec.json; the Makefile takes it from a
package on PyPI (nothing downloaded is committed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import yaml


def main(schema_path: str, compose_path: str = "docker-compose.yml") -> int:
    schema = json.loads(Path(schema_path).read_text())
    document = yaml.safe_load(Path(compose_path).read_text())  # anchors and `<<` merges resolved here
    # The spec names draft 2019-09 by a URI jsonschema does not recognise; say which draft it is.
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft201909Validator)
    if "2019-09" in schema.get("$schema", ""):
        validator = jsonschema.Draft201909Validator
    validator = validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        print(f"{compose_path}: {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}")
    services = len(document.get("services", {}))
    print(f"{compose_path}: {'invalid' if errors else 'valid'} against {schema.get('title', schema_path)} "
          f"({services} services, {len(errors)} error(s))")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
