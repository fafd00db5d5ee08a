"""The pieces of tools/bench, the benchmark matrix runner (tools/bench is the
entry point and its header describes the command line).

    units      sizes, paths and the formatting of sizes
    matrix     Point (one workload and engine) and the standard and quick matrices
    benchline  the guest's BENCH line: its required fields, Bench and Latency
    results    Rep and PointResult: what one point's runs gave
    stats      medians over repetitions, and the ratios between points
    qemu       the image, the guest's QEMU runs and the fake guest
    ceiling    qemu-img bench on the same image: Ceiling
    report     progress line, table, results.json and results.csv
    plots      the two PNG plots, through gnuplot
    checks     the --check rules
    cli        the command line and the run of a whole matrix

Standard library only. Nothing here writes bytecode next to the sources:
tools/bench and the tests set sys.dont_write_bytecode before importing.
"""
