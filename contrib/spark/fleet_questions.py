#!/usr/bin/env python3
"""The fleet's questions over `flowdb export` output of many archives, in Spark.

Runs the same on a laptop (local[2]) and on a cluster (spark-submit --master ...):
it reads the NDJSON files `flowdb export --out DIR` writes (ARCHIVE.flow.ndjson,
ARCHIVE.tls.ndjson, ARCHIVE.dns.ndjson, ...) from every sensor's export directory,
and answers:

  talkers   top talkers per day: for each UTC day, the N addresses (either side)
            with the most bytes, with the biggest flow that made them
  sni NAME  every flow whose TLS ClientHello named NAME (exact, without case)
  dns NAME  every flow that asked DNS for NAME (exact, without case; *.suffix
            for the suffix and every name under it)
  states    connections by transport, Zeek state and service, with one flow each

Every answer row carries `archive_id`, `archive` and `flow_id`, so
`flowdb query --db ARCHIVES --flow ARCHIVE:ID --pcap flow.pcap` gets its packets.

  usage: fleet_questions.py EXPORT_DIR... --question talkers|sni NAME|dns NAME|states
         [--top N] [--master local[2]] [--json]"""
import argparse, json, os, sys

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F


def session(master):
    return (SparkSession.builder.master(master).appName("flowdb-fleet")
            .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4").getOrCreate())


def read(spark, dirs, log):
    paths = [os.path.join(d, f) for d in dirs for f in sorted(os.listdir(d)) if f.endswith("." + log + ".ndjson")
             and os.path.getsize(os.path.join(d, f)) > 0]
    if not paths:
        return None
    return spark.read.json(paths)


def talkers(spark, dirs, top):
    flows = read(spark, dirs, "flow")
    bytes_ = (F.col("c2s_bytes") + F.col("s2c_bytes"))
    day = F.date_format(F.from_unixtime((F.col("first_ts") / F.lit(1_000_000_000)).cast("long")), "yyyy-MM-dd")
    sides = (flows.select(day.alias("day"), F.col("client_ip").alias("ip"), bytes_.alias("bytes"), "archive_id", "archive", "flow_id")
             .unionByName(flows.select(day.alias("day"), F.col("server_ip").alias("ip"), bytes_.alias("bytes"),
                                       "archive_id", "archive", "flow_id")))
    biggest = Window.partitionBy("day", "ip").orderBy(F.col("bytes").desc(), "archive", "flow_id")
    per_ip = (sides.withColumn("rank", F.row_number().over(biggest))
              .groupBy("day", "ip")
              .agg(F.count("*").alias("flows"), F.sum("bytes").alias("bytes"),
                   F.first(F.when(F.col("rank") == 1, F.col("archive_id")), ignorenulls=True).alias("archive_id"),
                   F.first(F.when(F.col("rank") == 1, F.col("archive")), ignorenulls=True).alias("archive"),
                   F.first(F.when(F.col("rank") == 1, F.col("flow_id")), ignorenulls=True).alias("flow_id")))
    order = Window.partitionBy("day").orderBy(F.col("bytes").desc(), F.col("ip"))
    return (per_ip.withColumn("place", F.row_number().over(order)).where(F.col("place") <= top)
            .orderBy("day", "place").select("day", "place", "ip", "flows", "bytes", "archive_id", "archive", "flow_id"))


def by_name(spark, dirs, log, column, name):
    rows = read(spark, dirs, log)
    if rows is None:
        return spark.createDataFrame([], "archive_id string, archive string, flow_id long")
    value = F.lower(F.col(column))
    name = name.lower()
    if name.startswith("*."):
        base = name[2:]
        cond = (value == base) | value.endswith("." + base)
    else:
        cond = value == name
    hits = rows.where(cond).select("archive_id", "archive", "flow_id").distinct()
    flows = read(spark, dirs, "flow").select("archive_id", "archive", "flow_id", "first_ts", "client_ip", "client_port",
                                             "server_ip", "server_port", "proto")
    return hits.join(flows, ["archive_id", "archive", "flow_id"]).orderBy("first_ts", "archive", "flow_id")


def states(spark, dirs):
    flows = read(spark, dirs, "flow")
    first = Window.partitionBy("proto", "conn_state", "app").orderBy("first_ts", "archive", "flow_id")
    return (flows.withColumn("n", F.row_number().over(first))
            .groupBy("proto", "conn_state", "app")
            .agg(F.count("*").alias("flows"),
                 F.first(F.when(F.col("n") == 1, F.col("archive_id")), ignorenulls=True).alias("archive_id"),
                 F.first(F.when(F.col("n") == 1, F.col("archive")), ignorenulls=True).alias("archive"),
                 F.first(F.when(F.col("n") == 1, F.col("flow_id")), ignorenulls=True).alias("flow_id"))
            .orderBy(F.col("flows").desc(), "proto", "conn_state", "app"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--question", nargs="+", required=True)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    a = ap.parse_args()
    spark = session(a.master)
    spark.sparkContext.setLogLevel("ERROR")
    q = a.question
    if q[0] == "talkers":
        df = talkers(spark, a.dirs, a.top)
    elif q[0] == "sni":
        df = by_name(spark, a.dirs, "tls", "server_name", q[1])
    elif q[0] == "dns":
        df = by_name(spark, a.dirs, "dns", "query", q[1])
    elif q[0] == "states":
        df = states(spark, a.dirs)
    else:
        sys.exit("unknown question: " + q[0])
    for row in df.collect():
        d = row.asDict()
        print(json.dumps(d, sort_keys=True) if a.json else "\t".join("" if v is None else str(v) for v in d.values()))
    spark.stop()


if __name__ == "__main__":
    main()
