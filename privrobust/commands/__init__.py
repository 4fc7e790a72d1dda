"""Registry of subcommands: name -> (module in this package, one-line help)."""
COMMANDS = {
    "account": ("account", "epsilon of DP-SGD (Poisson-subsampled Gaussian): certified bracket and RDP"),
    "calibrate": ("calibrate", "noise multiplier (or sample rate, or steps) for a target (epsilon, delta)"),
}
