#!/usr/bin/env python3
"""Runs one question of fleet.sql with chdb (ClickHouse in-process, from PyPI) over
a `flowdb export` directory; prints JSON lines.

  usage: fleet.py EXPORT_DIR talkers|sni NAME|dns NAME|states"""
import json, os, re, sys

import chdb


def questions():
    text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet.sql")).read()
    out = {}
    for part in re.split(r"^-- name: ", text, flags=re.M)[1:]:
        name, body = part.split("\n", 1)
        out[name.strip()] = body.strip().rstrip(";")
    return out


def main():
    directory, question = os.path.abspath(sys.argv[1]), sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else ""
    if "'" in name or "\\" in name:
        sys.exit("a name with a quote or backslash is not a DNS or TLS name")
    sql = questions()[question].replace("{dir}", directory).replace("{name}", name)
    result = chdb.query(sql, "JSONEachRow")
    sys.stdout.write(str(result))


if __name__ == "__main__":
    main()
