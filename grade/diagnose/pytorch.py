"""Named mistakes of torch.* (hidden from the handout's checks): which known mistake a failing answer is."""

import numpy as np

from ..items import Verdict, refine
from ..judge.common import relative_error
from ..judge.pytorch import expected_update, student_grads, target_note
from ..reference import torch_grads as reference_grads
from ..reference import torch_logits as logits


@refine("torch.forward")
def forward(obs, verdict):
    import torch
    out = obs["forward"].get("output")
    if out is None:
        return None
    from ..reference import torch_params, torch_rows
    ps, x = torch_params(obs.inputs), torch_rows(obs.inputs)
    z = logits(ps, x)
    mistakes = [
        ("the hidden and output activations are swapped (softmax in the hidden layers, sigmoid at the output)",
         torch.sigmoid(logits(ps, x, hidden=lambda a: torch.softmax(a, 1)))),
        ("the output layer uses sigmoid instead of softmax", torch.sigmoid(z)),
        ("softmax is taken over the batch (dim=0) instead of over the classes (dim=1)", torch.softmax(z, 0)),
        ("the hidden layers have no activation (sigmoid is missing)", torch.softmax(logits(ps, x, lambda a: a), 1)),
        ("the hidden layers use ReLU; the problem set asks for sigmoid", torch.softmax(logits(ps, x, torch.relu), 1)),
    ]
    for name, ref in mistakes:
        if np.shape(out) == tuple(ref.shape) and np.allclose(out, ref.numpy(), rtol=1e-4, atol=1e-5):
            return Verdict.fail(f"`_forward_pass`: {name}")
    return None


def _losses():
    import torch
    import torch.nn.functional as F
    return [
        ("softmax is applied twice: the cross-entropy loss is given the softmax probabilities and applies "
         "log-softmax again; give it the output layer's pre-activations (or use nll_loss on log_softmax)", None,
         lambda z, y: F.cross_entropy(torch.softmax(z, 1), y.argmax(1))),
        ("binary cross-entropy is kept (the template's BCEWithLogitsLoss); one-hot targets over 10 classes need the "
         "categorical cross-entropy", "torch.loss.bce_kept",
         lambda z, y: F.binary_cross_entropy_with_logits(z, y.to(z.dtype))),
        ("binary cross-entropy is kept (the template's BCEWithLogitsLoss, here applied to the softmax "
         "probabilities, a sigmoid per class on top); one-hot targets over 10 classes need the categorical "
         "cross-entropy", "torch.loss.bce_kept",
         lambda z, y: F.binary_cross_entropy_with_logits(torch.softmax(z, 1), y.to(z.dtype))),
        ("binary cross-entropy of the probabilities; one-hot targets over 10 classes need the categorical "
         "cross-entropy", None, lambda z, y: F.binary_cross_entropy(torch.softmax(z, 1), y.to(z.dtype))),
        ("the loss is the mean squared error of the probabilities; the problem set asks for cross-entropy", None,
         lambda z, y: F.mse_loss(torch.softmax(z, 1), y.to(z.dtype))),
        ("nll_loss is given the probabilities: the log is missing (use log_softmax, or cross-entropy on the "
         "pre-activations)", None, lambda z, y: F.nll_loss(torch.softmax(z, 1), y.argmax(1))),
        ("nll_loss is given the pre-activations: log_softmax is missing", None, lambda z, y: F.nll_loss(z, y.argmax(1))),
    ]


@refine("torch.loss")
def loss(obs, verdict):
    got = obs["loss"]
    if obs.error("loss") or any(got.get("missing") or [True]):
        return None
    grads = student_grads(obs)
    for name, code, loss_of in _losses():
        for reduction in ("mean", "sum"):
            fn = loss_of if reduction == "mean" else (lambda z, y, f=loss_of: f(z, y) * len(z))
            err = relative_error(grads, reference_grads(obs.inputs, fn))
            if err is not None and err < 1e-4:
                return Verdict.fail(f"the loss: {name} (identified from the gradients, relative error {err:.1e})"
                                    f"{target_note(obs)}", code=code)
    return None


@refine("torch.backward_update")
def backward_update(obs, verdict):
    if obs.error("update") or obs.error("loss"):
        return None
    lr, after = obs.settings["torch"]["learning_rate"], obs["update"]["params"]

    def equals(expected):
        return len(after) == len(expected) and all(np.allclose(a, e, rtol=1e-5, atol=1e-7)
                                                   for a, e in zip(after, expected))

    if equals(expected_update(obs, factor=+lr)):
        return Verdict.fail("`_update_weights` has the wrong sign: p + eta grad climbs the loss; SGD subtracts it")
    if equals(expected_update(obs, factor=0.0)):
        cleared = obs["update"].get("grads_cleared")
        if cleared:
            return Verdict.fail("`_update_weights` does not change the parameters: it clears the gradients "
                                "(zero_grad()) before optimizer.step() uses them, so the step has nothing to apply; "
                                "clear them before the backward pass (at the start of `_backward_pass`) or after "
                                "step()")
        if cleared is False:
            return Verdict.fail("`_update_weights` does not change the parameters although each has its gradient "
                                "in .grad: call self.optimizer.step(), on the optimizer built over the network's "
                                "parameters")
        return Verdict.fail("`_update_weights` does not change the parameters: optimizer.step() is not called, or "
                            "the gradients are cleared (zero_grad()) before it uses them")
    return None


@refine("torch.loss")
@refine("torch.backward_update")
def cleared_after_backward(obs, verdict):
    """`_backward_pass` ran backward() through the output, yet the parameters end without gradients."""
    got = obs["loss"]
    if obs.error("loss") or not got.get("backward_reached_output"):
        return None
    empty = all(m or not np.any(g) for m, g in zip(got.get("missing") or [], got.get("grads") or []))
    if not empty:
        return None
    return Verdict.fail("`_backward_pass` calls backward() (the gradient reaches the forward pass's output), but "
                        "afterwards no parameter has a gradient: they are cleared after the backward pass "
                        "(zero_grad() after loss.backward()); clear them before it, so that `_update_weights` has "
                        "gradients to apply")

