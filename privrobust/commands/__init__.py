"""Registry of subcommands: name -> (module in this package, one-line help)."""
COMMANDS = {
    "account": ("account", "epsilon of DP-SGD (Poisson-subsampled Gaussian): certified bracket and RDP"),
    "calibrate": ("calibrate", "noise multiplier (or sample rate, or steps) for a target (epsilon, delta)"),
    "radius": ("radius", "certified robustness radius of every DP route (gdp, renyi, tv, pixeldp; "
                         "Laplace routes for --norm 1)"),
    "table": ("table", "write trade-off tables (noise per calibration, certified radius per route) as "
                       "Markdown, LaTeX, CSV"),
    "verify": ("verify", "verify an ONNX network against a VNNLIB property (holds / violated / unknown)"),
    "certify": ("certify", "certify a saved model on a test set: randomized smoothing (CERTIFY) or PixelDP, with plots"),
    "train": ("train", "train a private (DP-SGD) and optionally robust model; certified epsilon bracket"),
    "audit": ("audit", "audit a DP claim: epsilon lower bounds (Jagielski et al.; one run, Steinke et al.) and MIA "
                       "metrics"),
    "poison": ("poison", "certified poisoning bounds: Steinhardt et al. upper bound (steinhardt), aggregation "
                         "ensembles (aggregate)"),
    "tradeoff": ("tradeoff", "privacy x robustness report: DP-SGD grid, certified accuracy per DP route, PGD, "
                             "membership, audit"),
}
