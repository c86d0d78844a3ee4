#!/usr/bin/env python3
"""Batch exposure over a tripoint Parquet export, on Spark.

For each seed category (default: sanctioned, dprk-attributed) the seeds are
every address carrying a label of that category. The job computes, for every
address within --hops hops of those seeds:

* poison reachability: role (seed / walked / endpoint), hop distance and the
  first tainted transfer (block, tx_index, position) - distributed: an
  iterative, time-respecting fixed point over DataFrame windows;
* haircut exposure: taint received and still held per asset, exact integers
  (Python ints, written as decimal strings) - a chain-order fold, run per
  category in parallel, over only the transfers that touch the poison-reached
  addresses (haircut never reaches further than poison).

The rules are tripoint's own (`tripoint trace --policy poison|haircut` with
the same seeds, --max-hops, default terminals, no look-alike detection), so
the results equal tripoint's engine exactly; tests/it/scale.rs checks that.
Differences, by design: a DEX-labelled address is an endpoint here (tripoint's
swap rule crosses assets and needs the interactive trace), and look-alike
address spam is not detected (it needs each address's counterparty history).

Run it unchanged with spark-submit, locally or on a cluster:

    spark-submit --master local[2] jobs/exposure.py --export EXPORT_DIR --out OUT_DIR
    spark-submit --master yarn --deploy-mode cluster jobs/exposure.py \\
        --export hdfs:///tripoint/export --out hdfs:///tripoint/exposure --hops 6

Output (Parquet, read by `tripoint screen --exposure-from OUT_DIR`):
OUT/reach/, OUT/haircut/ and OUT/_tripoint_exposure.json (docs/scale.md).
"""

import argparse
import json
import sys

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

FORMAT = "tripoint-exposure"
VERSION = 1
EXPORT_FORMAT = "tripoint-parquet"
# Format versions of the export this job reads (docs/scale.md): 1 (hex text
# hashes and addresses, decimal text amounts) and 2 (binary hashes and
# Ethereum addresses, DECIMAL(38,0) amounts with the wider ones as text).
EXPORT_VERSIONS = (1, 2)

DEFAULT_TERMINALS = ["exchange", "bridge", "mixer", "sanctioned"]

# tripoint's built-in trusted tokens (crates/trace/src/spam.rs); another
# contract using one of their symbols imitates it and is spam.
BUILTIN_TRUSTED = {
    "0xdac17f958d2ee523a2206206994597c13d831ec7": "USDT",
    "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": "USDC",
    "0x6b175474e89094c44da98b954eedeac495271d0f": "DAI",
    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2": "WETH",
    "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599": "WBTC",
    "0xae7ab96520de3a18e5e111b5eaab095312d7fe84": "STETH",
    "0x7f39c581f595b53c5cb19bd0b3f8da6c935e2ca0": "WSTETH",
    "0xbe9895146f7af43049ca1c1ae358b0541ea49704": "CBETH",
    "0xd5f7838f5c461feff7fe49ea5ebaf7728bb0adfa": "METH",
}


def fold_symbol(s):
    out = []
    for c in s.strip():
        c = c.upper() if c.isascii() else c
        out.append({"0": "O", "1": "I", "L": "I", "5": "S"}.get(c, c))
    return "".join(out)


def spam_assets(tokens):
    """Token contracts that never carry taint (tripoint's symbol rules).

    tokens: (asset, symbol) pairs; symbol None = no metadata (never spam)."""
    trusted = {fold_symbol(s) for s in BUILTIN_TRUSTED.values()}
    spam = set()
    for asset, symbol in tokens:
        if symbol is None or asset in BUILTIN_TRUSTED:
            continue
        if not all((c.isascii() and c.isprintable() and not c.isspace()) or c == " " for c in symbol):
            spam.add(asset)
            continue
        folded = fold_symbol(symbol)
        if folded in ("ETH", "BTC") or folded in trusted:
            spam.add(asset)
    return spam


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--export", required=True, help="tripoint Parquet export directory")
    p.add_argument("--out", required=True, help="output directory (replaced)")
    p.add_argument("--hops", type=int, default=6, help="maximum hop distance from a seed (default 6)")
    p.add_argument(
        "--categories",
        default="sanctioned,dprk-attributed",
        help="seed categories, comma-separated (default sanctioned,dprk-attributed)",
    )
    p.add_argument(
        "--terminal",
        default=",".join(DEFAULT_TERMINALS),
        help="label categories that end a walk (default exchange,bridge,mixer,sanctioned)",
    )
    p.add_argument("--master", default=None, help="Spark master when not run by spark-submit, e.g. local[2]")
    p.add_argument("--max-iterations", type=int, default=10_000, help="safety bound on the reachability fixed point")
    return p.parse_args(argv)


def read_export(spark, export):
    manifest_path = export.rstrip("/") + "/tripoint-export.json"
    text = spark.sparkContext.wholeTextFiles(manifest_path).collect()
    if not text:
        raise SystemExit(f"{manifest_path}: not found (is {export} a tripoint Parquet export?)")
    manifest = json.loads(text[0][1])
    if manifest.get("format") != EXPORT_FORMAT or manifest.get("version") not in EXPORT_VERSIONS:
        raise SystemExit(
            f"{manifest_path}: format {manifest.get('format')} version {manifest.get('version')};"
            f" this job reads {EXPORT_FORMAT} versions {', '.join(map(str, EXPORT_VERSIONS))}"
        )
    return manifest


def read_transfers(spark, export, manifest):
    """The transfers the job needs, the same columns from either version:
    asset as tripoint's key (`ETH`/`BTC` or the 0x token contract) and the
    exact amount as decimal digits. Addresses stay as stored (20 bytes on a
    version 2 Ethereum export) and become text only for the output rows
    (address_text)."""
    t = spark.read.parquet(export + "/transfers")
    common = [
        F.col("block"),
        F.col("tx_index"),
        F.col("position"),
        F.col("from_id").alias("src"),
        F.col("to_id").alias("dst"),
        F.col("from_address"),
        F.col("to_address"),
    ]
    if manifest["version"] == 1:
        return t.select(*common, F.col("asset"), F.col("symbol"), F.col("amount"))
    token = F.concat(F.lit("0x"), F.lower(F.hex(F.col("token"))))
    return t.select(
        *common,
        F.when(F.col("token").isNull(), F.lit(manifest_native(manifest))).otherwise(token).alias("asset"),
        F.col("symbol"),
        # DECIMAL(38,0) prints as plain digits; wider amounts are text already.
        F.coalesce(F.col("amount_d38").cast("string"), F.col("amount_big")).alias("amount"),
    )


def address_text(df, column):
    """An address column as tripoint prints it: 0x + lower-case hex for the
    20-byte binary of a version 2 Ethereum export, else the text as stored."""
    if isinstance(df.schema[column].dataType, T.BinaryType):
        return F.concat(F.lit("0x"), F.lower(F.hex(F.col(column)))).alias(column)
    return F.col(column)


U256_LIMIT = 1 << 256


def mul_div_floor(x, y, z, cap):
    """tripoint's haircut share (crates/trace/src/taint.rs mul_div_floor):
    floor(x*y/z) capped at cap, exact while x*y fits 256 bits. Beyond, the
    engine scales x and z down by the same shift first; the job does the
    same so that the two agree to the unit."""
    if z == 0:
        return cap
    p = x * y
    if p < U256_LIMIT:
        return min(p // z, cap)
    shift = max(x.bit_length() + y.bit_length() - 255, 0)
    x2, z2 = x >> shift, max(z >> shift, 1)
    p2 = x2 * y
    if p2 >= U256_LIMIT:
        return cap
    return min(p2 // z2, cap)


def haircut_fold(rows, seeds, terminals, spam, max_hops):
    """tripoint's haircut sweep (crates/trace/src/taint.rs) over one
    category's transfers in chain order. Yields (category, addr, asset,
    received, held) with exact integers as decimal strings."""
    cat = None
    state = None

    def flush():
        if state is None:
            return
        balance, taint, role, received = state
        for (addr, asset), v in received.items():
            held = taint.get((addr, asset), 0) if role.get(addr) in ("seed", "walked") else 0
            yield (cat, addr, asset, str(v), str(held))
        for (addr, asset), t in taint.items():
            if t > 0 and (addr, asset) not in received:
                yield (cat, addr, asset, "0", str(t))

    for r in rows:
        if r.category != cat:
            yield from flush()
            cat = r.category
            role = {a: "seed" for a in seeds.get(cat, ())}
            hops = {a: 0 for a in role}
            state = ({}, {}, role, {})
        balance, taint, role, received = state
        src, dst, asset = r.src, r.dst, r.asset
        if src == dst:
            continue
        a = int(r.amount)
        ks, kd = (src, asset), (dst, asset)
        carried = 0
        new_hops = 0
        src_role = role.get(src)
        if src_role in ("seed", "walked"):
            new_hops = hops[src] + 1
            b, t = balance.get(ks, 0), taint.get(ks, 0)
            c = t if a >= b else mul_div_floor(a, t, b, t)
            taint[ks] = t - c
            balance[ks] = b - a if b > a else 0
            if src_role == "seed":
                # A spam token the seed pays out is never seeded (as in the engine).
                if asset not in spam:
                    minted = a - min(c, a)
                    received[ks] = received.get(ks, 0) + minted
                carried = a
            else:
                carried = c
        else:
            b = balance.get(ks, 0)
            balance[ks] = b - a if b > a else 0
        if carried > 0 and (asset in spam or new_hops > max_hops):
            carried = 0
        dst_role = role.get(dst)
        if dst_role in ("seed", "walked"):
            balance[kd] = balance.get(kd, 0) + a
            taint[kd] = taint.get(kd, 0) + carried
            if carried > 0:
                hops[dst] = min(hops[dst], new_hops)
        elif carried > 0:
            if dst_role is None:
                dst_role = "endpoint" if dst in terminals else "walked"
                role[dst] = dst_role
                hops[dst] = new_hops
            else:
                hops[dst] = min(hops[dst], new_hops)
            balance[kd] = balance.get(kd, 0) + a
            if dst_role == "walked":
                taint[kd] = taint.get(kd, 0) + carried
        else:
            balance[kd] = balance.get(kd, 0) + a
        if carried > 0:
            received[kd] = received.get(kd, 0) + carried
    yield from flush()


def main(argv):
    args = parse_args(argv)
    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    terminal_cats = [c.strip() for c in args.terminal.split(",") if c.strip()] + ["dex"]
    builder = SparkSession.builder.appName("tripoint-exposure")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # Spark's default of 200 shuffle partitions costs more in task overhead
    # than the work on small inputs; unless --conf sets it, use twice the
    # cores (local[N]: 2N; a cluster: twice its executor cores).
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", str(2 * spark.sparkContext.defaultParallelism))
    manifest = read_export(spark, args.export)
    export = args.export.rstrip("/")
    max_hops = args.hops

    transfers = read_transfers(spark, export, manifest)
    # Chain order as one comparable number: after a global sort, the
    # monotonically increasing id follows the sort (partition index in the
    # high bits). Checkpointed so that it is computed once.
    tx = (
        transfers.orderBy("block", "tx_index", "position")
        .withColumn("seq", F.monotonically_increasing_id())
        .localCheckpoint(eager=True)
    )
    labels = spark.read.parquet(export + "/labels")

    tokens = tx.where(F.col("asset") != F.lit(manifest_native(manifest))).select("asset", "symbol").distinct().collect()
    spam = spam_assets([(t.asset, t.symbol) for t in tokens])
    seeds_df = (
        labels.where(F.col("category").isin(categories) & F.col("address_id").isNotNull())
        .select("category", F.col("address_id").alias("addr"))
        .distinct()
    )
    seeds = {}
    for r in seeds_df.collect():
        seeds.setdefault(r.category, set()).add(r.addr)
    terminals = {
        r.address_id
        for r in labels.where(F.col("category").isin(terminal_cats) & F.col("address_id").isNotNull())
        .select("address_id")
        .distinct()
        .collect()
    }
    seeds_df = spark.createDataFrame(
        [(c, a) for c, s in seeds.items() for a in s], "category string, addr long"
    ).cache()
    term_df = spark.createDataFrame([(a,) for a in terminals], "addr long")

    # Transfers that can carry poison taint: a positive amount, not to self,
    # not a spam token.
    carriers = tx.where(
        (F.col("amount") != "0") & (F.col("src") != F.col("dst")) & (~F.col("asset").isin(list(spam) or ["-"]))
    ).select("seq", "src", "dst", "asset").cache()

    # Seeds pay taint at hop 1.
    seed_pay = (
        carriers.join(seeds_df, carriers.src == seeds_df.addr)
        .select("category", "dst", "seq", "asset", F.lit(1).alias("hop"))
        .where(F.lit(max_hops) >= 1)
    )
    receipts = seed_pay.localCheckpoint(eager=True)
    before = (receipts.count(), receipts.agg(F.sum("hop")).first()[0] or 0)
    iterations = 0
    while True:
        iterations += 1
        if iterations > args.max_iterations:
            raise SystemExit(f"no fixed point after {args.max_iterations} iterations")
        walkers = (
            receipts.select("category", F.col("dst").alias("addr"))
            .distinct()
            .join(term_df, "addr", "left_anti")
            .join(seeds_df, ["category", "addr"], "left_anti")
        )
        pays = (
            carriers.withColumnRenamed("src", "addr")
            .join(walkers, "addr")
            .select("category", "addr", "seq", "dst", "asset", F.lit(None).cast("int").alias("hop"))
        )
        recv = (
            receipts.withColumnRenamed("dst", "addr")
            .join(walkers, ["category", "addr"])
            .select("category", "addr", "seq", F.lit(None).cast("long").alias("dst"), "asset", "hop")
        )
        events = pays.unionByName(recv)
        by_addr = Window.partitionBy("category", "addr").orderBy("seq").rowsBetween(Window.unboundedPreceding, -1)
        by_asset = (
            Window.partitionBy("category", "addr", "asset").orderBy("seq").rowsBetween(Window.unboundedPreceding, -1)
        )
        tainted = (
            events.withColumn("hop_before", F.min("hop").over(by_addr))
            .withColumn("recv_before", F.count("hop").over(by_asset))
            .where(F.col("hop").isNull() & (F.col("recv_before") > 0) & (F.col("hop_before") + 1 <= max_hops))
            .select("category", "dst", "seq", "asset", (F.col("hop_before") + 1).alias("hop"))
        )
        nxt = seed_pay.unionByName(tainted).localCheckpoint(eager=True)
        after = (nxt.count(), nxt.agg(F.sum("hop")).first()[0] or 0)
        receipts = nxt
        # Receipts only grow and hops only fall, so equal count and hop sum
        # mean the same set: the fixed point.
        if after == before:
            break
        before = after

    stored = (
        tx.select(F.col("src").alias("addr"), F.col("from_address").alias("address"))
        .unionByName(tx.select(F.col("dst").alias("addr"), F.col("to_address").alias("address")))
        .distinct()
    )
    addresses = stored.select("addr", address_text(stored, "address"))
    keys = tx.select("seq", "block", "tx_index", "position")
    reached = receipts.groupBy("category", F.col("dst").alias("addr")).agg(
        F.min("hop").alias("hops"), F.min("seq").alias("seq")
    )
    nodes = (
        reached.join(seeds_df.withColumn("is_seed", F.lit(True)), ["category", "addr"], "full_outer")
        .join(term_df.withColumn("is_terminal", F.lit(True)), "addr", "left")
        .select(
            "category",
            "addr",
            F.when(F.col("is_seed"), F.lit("seed"))
            .when(F.col("is_terminal"), F.lit("endpoint"))
            .otherwise(F.lit("walked"))
            .alias("role"),
            F.when(F.col("is_seed"), F.lit(0)).otherwise(F.col("hops")).cast("int").alias("hops"),
            "seq",
        )
        .join(keys, "seq", "left")
        .join(addresses, "addr", "left")
        .select(
            "category",
            F.col("addr").alias("address_id"),
            "address",
            "role",
            "hops",
            F.col("block").alias("first_block"),
            F.col("tx_index").alias("first_tx_index"),
            F.col("position").alias("first_position"),
        )
    ).cache()
    out = args.out.rstrip("/")
    nodes.orderBy("category", "address_id").write.mode("overwrite").parquet(out + "/reach")

    # Haircut: only transfers touching a poison-reached address matter.
    touched = nodes.select("category", F.col("address_id").alias("a"))
    cols = ["category", "seq", "src", "dst", "asset", "amount"]
    sub = (
        tx.join(touched.withColumnRenamed("a", "src"), "src")
        .select(*cols)
        .unionByName(tx.join(touched.withColumnRenamed("a", "dst"), "dst").select(*cols))
        .distinct()
    )
    bc_seeds = spark.sparkContext.broadcast(seeds)
    bc_terms = spark.sparkContext.broadcast(terminals)
    bc_spam = spark.sparkContext.broadcast(spam)
    ncat = max(1, len(seeds))
    folded = (
        sub.repartition(ncat, "category")
        .sortWithinPartitions("category", "seq")
        .rdd.mapPartitions(lambda rows: haircut_fold(rows, bc_seeds.value, bc_terms.value, bc_spam.value, max_hops))
    )
    schema = T.StructType(
        [
            T.StructField("category", T.StringType(), False),
            T.StructField("address_id", T.LongType(), False),
            T.StructField("asset", T.StringType(), False),
            T.StructField("received", T.StringType(), False),
            T.StructField("held", T.StringType(), False),
        ]
    )
    haircut = (
        spark.createDataFrame(folded, schema)
        .join(addresses.withColumnRenamed("addr", "address_id"), "address_id", "left")
        .select("category", "address_id", "address", "asset", "received", "held")
    )
    haircut.orderBy("category", "address_id", "asset").write.mode("overwrite").parquet(out + "/haircut")

    meta = {
        "format": FORMAT,
        "version": VERSION,
        "hops": max_hops,
        "categories": categories,
        "terminal": terminal_cats,
        "export_through_block": manifest.get("through_block"),
        "reachability_iterations": iterations,
    }
    write_meta(spark, out, meta)
    print(
        f"exposure: {nodes.count()} reached (address, category) pairs, "
        f"{iterations} reachability iterations, written to {out}"
    )
    spark.stop()


def manifest_native(manifest):
    return "BTC" if manifest.get("chain") == "bitcoin" else "ETH"


def write_meta(spark, out, meta):
    """_tripoint_exposure.json beside the tables, through Hadoop's file
    system so that it lands wherever --out is (local, HDFS, S3)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(out + "/_tripoint_exposure.json")
    fs = path.getFileSystem(conf)
    stream = fs.create(path, True)
    stream.write(bytearray(json.dumps(meta, indent=2).encode()))
    stream.close()


if __name__ == "__main__":
    main(sys.argv[1:])
