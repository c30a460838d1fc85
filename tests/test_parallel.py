"""Data-parallel training: a batch split over threads gives the whole batch's gradient."""

import pytest
import torch

from pyNN_surrogate.surrogates.model import SurrogateNet
from pyNN_surrogate.training.parallel import SplitBatch, join_states, split_state


def _net():
    torch.manual_seed(3)
    return SurrogateNet(2, 5, feedback=True, n_extra=1, spike_traces=(20.0, 100.0),
                        output_dt=0.1)


def _loss_fn(x, v, s):
    def loss_fn(model, part, state):
        pv, pl, new_state = model(x[:, part], state)
        loss = (torch.nn.functional.mse_loss(pv, v[:, part])
                + torch.nn.functional.binary_cross_entropy_with_logits(pl, s[:, part]))
        return loss, new_state
    return loss_fn


@pytest.mark.parametrize("workers, n", [(2, 6), (2, 5), (3, 7)])
def test_split_batch_gradient_and_state_equal_the_whole_batch(workers, n):
    net = _net()
    torch.manual_seed(4)
    x = torch.randn(40, n, net.n_frame)
    v = torch.randn(40, n, 10)
    s = (torch.rand(40, n, 5) < 0.05).float()
    state = tuple(t + 0.1 * torch.randn_like(t) if t.dtype != torch.bool else t
                  for t in net.zero_state(n))
    loss_fn = _loss_fn(x, v, s)

    net.zero_grad()
    loss, whole_state = loss_fn(net, slice(None), state)
    loss.backward()
    whole = [p.grad.clone() for p in net.parameters()]

    splitter = SplitBatch(net, workers)
    try:
        assert [p.stop - p.start for p in splitter.parts(n)] in ([3, 3], [2, 3], [2, 2, 3],
                                                                 [2, 3, 2])
        split_loss, split_state_ = splitter.backward(loss_fn, n, state)
    finally:
        splitter.close()
    # a mean loss over unequal parts is the weighted mean of the parts' means
    assert split_loss == pytest.approx(float(loss.detach()), rel=1e-5)
    for g_whole, p in zip(whole, net.parameters()):
        torch.testing.assert_close(p.grad, g_whole, rtol=1e-4, atol=1e-6)
    for a, b in zip(split_state_, whole_state):
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)


def test_split_batch_replicas_follow_the_trained_weights():
    net = _net()
    x, v, s = torch.randn(10, 4, net.n_frame), torch.randn(10, 4, 10), torch.zeros(10, 4, 5)
    splitter = SplitBatch(net, 2)
    try:
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.5)
        splitter.backward(_loss_fn(x, v, s), 4, net.zero_state(4))
        for a, b in zip(splitter.replicas[1].parameters(), net.parameters()):
            torch.testing.assert_close(a, b)
    finally:
        splitter.close()


def test_state_split_and_join_round_trip():
    net = _net()
    state = tuple(torch.rand_like(t.float()) if t.dtype != torch.bool else t | True
                  for t in net.zero_state(5))
    parts = [slice(0, 2), slice(2, 5)]
    joined = join_states([split_state(state, p) for p in parts])
    for a, b in zip(joined, state):
        assert torch.equal(a, b)


def test_split_batch_needs_two_workers():
    with pytest.raises(ValueError, match="at least 2 workers"):
        SplitBatch(_net(), 1)


def _synthetic_data(n=10, n_steps=120, substeps=5, seed=0):
    """A small data set in the layout of :func:`..groundtruth.generate`."""
    import numpy as np
    rng = np.random.default_rng(seed)
    drive = rng.exponential(0.01, size=(n, n_steps, 2)).astype(np.float32)
    v = (-65.0 + 5.0 * rng.standard_normal((n, n_steps * substeps))).astype(np.float32)
    bins = rng.random((n, n_steps * substeps)) < 0.004
    times = [np.flatnonzero(b) * 0.1 + 0.1 for b in bins]
    return dict(drive=drive, v=v, spike_bins=bins,
                spike_counts=np.array([len(t) for t in times]),
                spike_times=np.concatenate(times))


def test_training_with_two_workers_follows_one_worker():
    """Six optimiser steps of a feedback network end at the same weights (to float
    rounding) whether the batch is computed in one thread or split over two."""
    import numpy as np
    from pyNN_surrogate.training.loop import TrainConfig, train

    data = _synthetic_data()
    results = []
    for workers in (1, 2):
        cfg = TrainConfig(steps=6, minutes=5, batch=4, chunk=40, hidden=8, conv_channels=8,
                          eval_every=6, feedback=True, warmup=1, workers=workers)
        results.append(train(data, np.arange(8), np.arange(8, 10), cfg, 0.1,
                             progress=False))
    one, two = (r["net"].state_dict() for r in results)
    assert results[1]["steps_done"] == 6
    assert any(float((one[k] - _net_at_start(cfg, data)[k]).abs().max()) > 1e-4 for k in one)
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=1e-4, atol=1e-5)


def _net_at_start(cfg, data):
    """The initial weights of :func:`train` with ``cfg`` (same seed, same shape)."""
    torch.manual_seed(cfg.seed)
    net = SurrogateNet(2, 5, cfg.conv_channels, cfg.kernel, cfg.hidden, feedback=True)
    return net.state_dict()


def test_feedback_threshold_is_refined_on_validation():
    """After training, a feedback network's threshold is refined in 0.1 steps within 0.5 of
    the coarse choice, and a different threshold is kept only if it scores a higher F1."""
    import numpy as np
    from pyNN_surrogate.training.loop import TrainConfig, train

    data = _synthetic_data()
    cfg = TrainConfig(steps=6, minutes=5, batch=4, chunk=40, hidden=8, conv_channels=8,
                      eval_every=3, feedback=True, warmup=1)
    result = train(data, np.arange(8), np.arange(8, 10), cfg, 0.1, progress=False)
    chosen = result["validation"]
    coarse = max(result["history"], key=lambda h: h["score"])
    assert chosen["coarse_threshold"] == coarse["threshold"]
    assert result["threshold"] == chosen["threshold"]
    assert abs(chosen["threshold"] - coarse["threshold"]) <= 0.5 + 1e-9
    assert chosen["f1_2ms"] >= coarse["f1_2ms"]
    if chosen["threshold"] != coarse["threshold"]:
        assert chosen["f1_2ms"] > coarse["f1_2ms"]
