"""privrobust verify NET.onnx PROP.vnnlib: a VNN-COMP instance decided by bounds, attack and MIP."""
from __future__ import annotations

import json

NAME = "verify"
HELP = "verify an ONNX network against a VNNLIB property (holds / violated / unknown)"


def add_arguments(parser) -> None:
    parser.add_argument("network", help="ONNX network (chain of Gemm/MatMul/Add/Sub/Div/Relu/Conv/Flatten/Reshape)")
    parser.add_argument("property", help="VNNLIB property (input box, unsafe output set)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--method", default="auto", choices=("auto", "ibp", "crown", "alpha-crown", "mip"),
                        help="auto: IBP, CROWN, alpha-CROWN, attack, then MIP (default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the result line")


def run(args) -> int:
    from verify import verify_onnx

    result = verify_onnx(args.network, args.property, method=args.method, timeout=args.timeout)
    if args.json:
        cex = None
        if result.counterexample is not None:
            cex = {"input": result.counterexample[0].tolist(), "output": result.counterexample[1].tolist()}
        print(json.dumps({"status": result.status, "decided_by": result.decided_by,
                          "seconds": result.seconds, "counterexample": cex}))
    else:
        print(result.vnncomp_lines())
    return 0
