"""Data-parallel DP-SGD: 2 gloo processes give the same noisy sum (and update) as 1 process, same noise."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from training.distributed import Workers
from training.dpsgd import DPSGD
from training.models import MLP


def data():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(9, 1, 8, 8, generator=gen), torch.randint(0, 10, (9,), generator=gen)


def one_step(workers):
    torch.manual_seed(0)
    model = MLP(64, (8,))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    step = DPSGD(model, opt, noise_multiplier=1.3, clip_norm=0.4, expected_batch_size=9.0,
                 noise_generator=torch.Generator().manual_seed(7), all_reduce=workers.all_reduce,
                 adds_noise=workers.is_main)
    x, y = data()
    mine = workers.share(torch.arange(9))
    stats = step.step(x[mine], y[mine], torch.Generator())
    return [p.detach() for p in model.parameters()], stats


def worker(rank, store, out):
    # a file rendezvous: no TCP port that another process could take between choosing and binding it
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        params, stats = one_step(Workers.current())
        if rank == 0:
            torch.save({"params": params, "size": stats.batch_size}, out)
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path):
    out = tmp_path / "rank0.pt"
    mp.spawn(worker, args=(str(tmp_path / "store"), str(out)), nprocs=2, join=True)
    got = torch.load(out)
    expected, stats = one_step(Workers())
    assert got["size"] == stats.batch_size == 9
    for g, e in zip(got["params"], expected):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
