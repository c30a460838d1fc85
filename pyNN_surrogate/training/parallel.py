"""Data-parallel gradients over threads: one training batch split across CPU cores.

A training step of a surrogate (an LSTM over a few hundred native steps of 16 trials) is too
small for PyTorch's intra-op threads: on this project's 2-core machine two torch threads run it
no faster than one. Two replicas of the network, each taking half of the batch in its own
Python thread, do use both cores (torch releases the GIL inside its kernels): measured on the
2-core machine, batch 16 at chunk 400, 32.5 optimiser steps/s in one thread against 45.9 with
two. The gradient is the batch-size-weighted sum of the parts' gradients, which equals the
whole batch's gradient of a mean loss, so training is the same up to float rounding, and the
parts are always added in the same order, so it stays reproducible.
"""

import copy
from concurrent.futures import ThreadPoolExecutor

import torch


def split_state(state, part):
    """The cells ``part`` (a slice) of a network state (dim 1 of 3-D tensors, else dim 0)."""
    return tuple(s[:, part] if s.dim() == 3 else s[part] for s in state)


def join_states(states):
    """Inverse of :func:`split_state` over consecutive parts."""
    return tuple(torch.cat(parts, dim=1 if parts[0].dim() == 3 else 0)
                 for parts in zip(*states))


class SplitBatch:
    """Compute one step's loss gradient with the batch split over ``workers`` threads.

    Parameters
    ----------
    net : torch.nn.Module
        The network being trained; its ``.grad`` receives the whole batch's gradient.
    workers : int
        Threads (parts of the batch); the calling thread computes the first part itself.

    Notes
    -----
    Run torch with one intra-op thread per worker (``torch.set_num_threads(1)``): the parts
    are the parallelism.
    """

    def __init__(self, net, workers):
        if int(workers) < 2:
            raise ValueError(f"SplitBatch needs at least 2 workers, got {workers}")
        self.net = net
        self.replicas = [net] + [copy.deepcopy(net) for _ in range(int(workers) - 1)]
        self._pool = ThreadPoolExecutor(int(workers) - 1)

    def parts(self, n):
        """Slices of ``n`` trials, one per worker, as equal as possible (none empty)."""
        k = min(len(self.replicas), n)
        bounds = [round(i * n / k) for i in range(k + 1)]
        return [slice(bounds[i], bounds[i + 1]) for i in range(k)]

    def backward(self, loss_fn, n, state):
        """Accumulate the gradient of a batch of ``n`` trials into ``net``.

        Parameters
        ----------
        loss_fn : callable
            ``loss_fn(model, part, state_part) -> (loss, new_state_part)``: the mean loss of
            the trials ``part`` (a slice of the batch), computed with ``model``.
        n : int
            Trials in the batch.
        state : tuple
            Network state of the whole batch (see :func:`split_state`).

        Returns
        -------
        loss : float
            The whole batch's mean loss.
        state : tuple
            The new state of the whole batch (detached).
        """
        live = list(self.net.parameters())
        with torch.no_grad():
            for replica in self.replicas[1:]:
                torch._foreach_copy_(list(replica.parameters()), live)
        parts = self.parts(n)

        def run(k):
            model = self.replicas[k]
            model.zero_grad(set_to_none=True)
            loss, new_state = loss_fn(model, parts[k], split_state(state, parts[k]))
            loss.backward()
            return float(loss.detach()), tuple(s.detach() for s in new_state)

        futures = [self._pool.submit(run, k) for k in range(1, len(parts))]
        results = [run(0)] + [f.result() for f in futures]
        weights = [(p.stop - p.start) / n for p in parts]
        with torch.no_grad():
            for j, param in enumerate(live):
                grad = param.grad.mul_(weights[0])
                for k in range(1, len(parts)):
                    grad.add_(list(self.replicas[k].parameters())[j].grad, alpha=weights[k])
        loss = sum(w * r[0] for w, r in zip(weights, results))
        return loss, join_states([r[1] for r in results])

    def close(self):
        """Stop the worker threads."""
        self._pool.shutdown()
