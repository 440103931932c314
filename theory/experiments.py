"""The measured evidence of theory.tex, Section 1.3 (Appendix A): real training runs of this
project's from-scratch network ``network_scratch.NeuralNetwork`` (sigmoid hidden layer, softmax
output, the course's MSE, mini-batch SGD through the fast engine, see :func:`train`) on the
5,000 MNIST digits embedded in this project (``mnist``'s embedded source, pinned here so that an
``MNIST_PATH`` or a Keras cache cannot silently change the data; ``--mnist PATH`` of
``figures.py`` chooses other data explicitly).  ``figures.py`` draws what :func:`measure` returns.

The setting, chosen to match the problem (one smooth joint distribution with overlapping
classes, an i.i.d. test set):

* **label noise on every label**: a seeded 20 % of all 5,000 labels are replaced by a
  uniformly random class *before* the split, so training, validation and test digits come
  from one joint distribution; a random class is wrong 9 times in 10, so the expected share
  of wrong labels, the best possible error, is 20 % x 9/10 = 18 % (the realised shares of
  each set are recorded);
* a **test set** of 1,000 digits, never used for a choice (the stand-in for the infinite
  test set); a **validation set** of 1,000 digits; a **training pool** of 3,000;
* **inputs**: the first 50 principal components of the pixels (fitted on the training pool
  only), each scaled to standard deviation 0.5.  With 50 inputs every run takes seconds and a
  wide network can fit the noisy labels, so overfitting becomes visible;
* every experiment is **repeated** with other initial weights and, as each run_* function
  says, other training digits; the figures show the mean and the range of the repetitions;
* **early stopping** (1.3.3) is measured as the answer teaches it: the patience rule
  (:func:`early_stopping`) applied to each repetition's validation errors after every epoch.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mnist  # noqa: E402
import scratch_engine  # noqa: E402
from network_scratch import NeuralNetwork  # noqa: E402

SEED = 42  # data split, label noise and the first repetition's weights derive from it

N_TEST, N_VAL, N_POOL = 1000, 1000, 3000
N_CLASSES = 10
LABEL_NOISE = 0.2        # share of ALL labels replaced by a uniformly random class
N_COMPONENTS = 50        # principal components fed to the network
INPUT_STD = 0.5          # standard deviation of each component after scaling
BATCH_SIZE = 10
LEARNING_RATE = 1.0      # on the mini-batch mean gradient of the course's MSE

# Training "until the training error stops falling" (1.3.1 and 1.3.2): blocks of at least
# PLATEAU_EPOCHS epochs and PLATEAU_SAMPLES sample presentations until a block lowers the
# least training error reached so far by less than PLATEAU_TOL (or MAX_BLOCKS blocks).
PLATEAU_EPOCHS, PLATEAU_SAMPLES, PLATEAU_TOL, MAX_BLOCKS = 20, 20_000, 0.005, 50
# 1.3.1: training-set size (nested subsets of the pool), fixed width.
SIZES = [25, 50, 100, 200, 400, 800, 1600, 3000]
SIZE_HIDDEN, SIZE_REPEATS = 16, 3
# 1.3.2: model complexity = hidden units of one hidden layer, fixed training-set size, every
# width trained to its plateau; repeated with different training/validation draws and weights.
WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
COMPLEXITY_N, REPEATS = 300, 5
# 1.3.3: epochs, a fixed number of them, repeated like 1.3.2; early stopping with a patience.
EPOCHS_N, EPOCHS_HIDDEN, EPOCHS_MAX, EPOCHS_REPEATS = 300, 256, 200, 5
PATIENCE = 20

BEST_POSSIBLE = LABEL_NOISE * (N_CLASSES - 1) / N_CLASSES  # a random label is wrong 9 times in 10


# --------------------------------------------------------------------------- data
def load_digits(path=None):
    """The embedded 5,000 digits, or the data at ``path`` when it is given."""
    return mnist.load_mnist(path) if path is not None else mnist.load_embedded()


def noisy(labels, share, rng):
    """A copy of ``labels`` with ``share`` of them replaced by a uniformly random class."""
    out = labels.copy()
    flip = rng.random(len(out)) < share
    out[flip] = rng.integers(0, N_CLASSES, flip.sum())
    return out


class Digits(tuple):
    """``(x, y)`` with ``wrong``: which of the labels ``y`` the noise changed."""

    def __new__(cls, x, y, wrong):
        obj = super().__new__(cls, (x, y))
        obj.wrong = wrong
        return obj

    def take(self, idx):
        return Digits(self[0][idx], self[1][idx], self.wrong[idx])

    def wrong_share(self):
        return float(np.mean(self.wrong))


def prepare(data):
    """Noisy labels, the split, and the principal-component inputs (fitted on the pool)."""
    images, labels = data
    x = mnist.scale_images(images, flatten=True).astype(np.float64)
    y = noisy(labels, LABEL_NOISE, np.random.default_rng(SEED))
    idx = np.arange(len(y))  # split indices, so that the true labels follow the split
    i_pool, _, i_rest, y_rest = mnist.train_val_split(idx, y, N_POOL, N_VAL + N_TEST, seed=SEED)
    i_val, _, i_test, _ = mnist.train_val_split(i_rest, y_rest, N_VAL, N_TEST, seed=SEED + 1)
    mean = x[i_pool].mean(axis=0)
    _, s, vt = np.linalg.svd(x[i_pool] - mean, full_matrices=False)
    scale = INPUT_STD * np.sqrt(len(i_pool)) / s[:N_COMPONENTS]  # component std -> INPUT_STD

    def part(i):
        return Digits((x[i] - mean) @ vt[:N_COMPONENTS].T * scale, y[i], y[i] != labels[i])

    return {"pool": part(i_pool), "val": part(i_val), "test": part(i_test),
            "wrong_share_all": float(np.mean(y != labels))}


def network(hidden, epochs, random_state):
    return NeuralNetwork([N_COMPONENTS, hidden, N_CLASSES], epochs=epochs,
                         learning_rate=LEARNING_RATE, random_state=random_state)


def train(net, x, y, x_val, y_val):
    """``net.epochs`` epochs of mini-batch SGD through the fast engine (scratch_engine.fit); its history."""
    return scratch_engine.fit(net, x, y, x_val, y_val, batch_size=BATCH_SIZE, shuffle=True, verbose=False,
                              dtype=np.float64)


def fit(net, train_set, held_out):
    """Train ``net`` for ``net.epochs`` epochs; errors (1 - accuracy) after every epoch."""
    hist = train(net, train_set[0], mnist.one_hot(train_set[1]), held_out[0], mnist.one_hot(held_out[1]))
    return [1 - a for a in hist["accuracy"]], [1 - a for a in hist["val_accuracy"]]


def error(net, data):
    return 1 - net.compute_accuracy(data[0], mnist.one_hot(data[1]))


def fit_to_plateau(hidden, seed, train_set, held_out):
    """A network trained until its training error stops falling; (net, epochs, stopped)."""
    block = max(PLATEAU_EPOCHS, -(-PLATEAU_SAMPLES // len(train_set[1])))
    net = network(hidden, block, seed)
    best, blocks, plateau = np.inf, 0, False
    while blocks < MAX_BLOCKS and not plateau:
        train_err, _ = fit(net, train_set, held_out)
        blocks += 1
        plateau = min(train_err) > best - PLATEAU_TOL  # this block no longer lowered it
        best = min(best, min(train_err))
    return net, blocks * block, bool(plateau)


def _summary(out, reps, keys):
    """Mean, minimum and maximum over the repetitions, per key."""
    for key in keys:
        values = np.array([rep[key] for rep in reps], dtype=float)
        out[key + "_mean"] = values.mean(axis=0).tolist()
        out[key + "_min"] = values.min(axis=0).tolist()
        out[key + "_max"] = values.max(axis=0).tolist()


# --------------------------------------------------------------------------- experiments
def run_sizes(d):
    """1.3.1: each size trained until its training error stops falling; SIZE_REPEATS repetitions,
    each with its own initial weights and nested training sets, the first n digits of its own
    order of the pool: at the largest size, the whole pool, all train on the same digits."""
    reps = []
    for r in range(SIZE_REPEATS):
        # Repetition r: nested training sets, the first n digits of one random order of the
        # pool (repetition 0: the pool's own stratified, shuffled order), and its own weights.
        order = np.arange(N_POOL) if r == 0 else np.random.default_rng(SEED + 30 + r).permutation(N_POOL)
        seed = SEED + r  # its initial weights and shuffling
        rep = {"seed": seed, "epochs": [], "stopped_at_plateau": [], "train_error": [], "test_error": [],
               "wrong_labels": []}
        for n in SIZES:
            train_set = d["pool"].take(order[:n])
            net, epochs, stopped = fit_to_plateau(SIZE_HIDDEN, seed, train_set, d["val"])
            rep["epochs"].append(epochs)
            rep["stopped_at_plateau"].append(stopped)
            rep["train_error"].append(error(net, train_set))
            rep["test_error"].append(error(net, d["test"]))
            rep["wrong_labels"].append(int(train_set.wrong.sum()))
        reps.append(rep)
    out = {"train_sizes": SIZES, "hidden": SIZE_HIDDEN, "plateau_epochs": PLATEAU_EPOCHS,
           "plateau_samples": PLATEAU_SAMPLES, "plateau_tol": PLATEAU_TOL, "max_blocks": MAX_BLOCKS,
           "repeats": reps}
    _summary(out, reps, ("train_error", "test_error"))
    return out


def run_complexity(d):
    """1.3.2: errors against hidden units, each width trained to its plateau; REPEATS draws."""
    reps = []
    pool_val = Digits(np.concatenate([d["pool"][0], d["val"][0]]), np.concatenate([d["pool"][1], d["val"][1]]),
                      np.concatenate([d["pool"].wrong, d["val"].wrong]))
    for r in range(REPEATS):
        # Repetition r: its own training set and validation set from pool + validation
        # digits, its own initial weights and shuffling; the test set stays the same.
        i_tr, _, i_va, _ = mnist.train_val_split(np.arange(len(pool_val[1])), pool_val[1], COMPLEXITY_N, N_VAL,
                                                 seed=SEED + 10 + r)
        tr, va = pool_val.take(i_tr), pool_val.take(i_va)
        seed = SEED + r
        rep = {"seed": seed, "train_error": [], "val_error": [], "test_error": [], "epochs": [], "stopped_at_plateau": [],
               "wrong_share_train": tr.wrong_share(), "wrong_share_val": va.wrong_share()}
        for width in WIDTHS:
            net, epochs, stopped = fit_to_plateau(width, seed, tr, va)
            rep["train_error"].append(error(net, tr))
            rep["val_error"].append(error(net, va))
            rep["test_error"].append(error(net, d["test"]))
            rep["epochs"].append(epochs)
            rep["stopped_at_plateau"].append(stopped)
        reps.append(rep)
    out = {"hidden_units": WIDTHS, "n_train": COMPLEXITY_N, "repeats": reps}
    _summary(out, reps, ("train_error", "val_error", "test_error"))
    best = int(np.argmin(out["val_error_mean"]))
    out["chosen_hidden"] = WIDTHS[best]  # the width with the least mean validation error
    # Where the line sits on the log axis, 0 = left end, 1 = right end.
    out["chosen_position"] = float(np.log(WIDTHS[best] / WIDTHS[0]) / np.log(WIDTHS[-1] / WIDTHS[0]))
    return out


def early_stopping(val_error, patience):
    """The procedure of 1.3.3 on the validation errors after epochs 1, 2, ...: keep the
    weights whenever the validation error is less than every earlier one, stop once it has not
    been for ``patience`` epochs (or after the last epoch).  Returns ``(stop, kept)``: the epoch
    after which training stops and the epoch whose weights are returned."""
    best, kept = np.inf, 0
    for epoch, err in enumerate(val_error, start=1):
        if err < best:
            best, kept = err, epoch
        elif epoch - kept >= patience:
            return epoch, kept
    return len(val_error), kept


def run_epochs(d):
    """1.3.3: training/validation/test error after every epoch; EPOCHS_REPEATS repetitions, each
    with its own EPOCHS_N training digits from the pool (repetition 0: the pool's own order) and
    its own initial weights; the same validation and test digits.

    Training does not depend on the held-out set passed to ``fit`` (it is only evaluated),
    and it is seeded, so the run with the test set as the held-out set retraces the run
    with the validation set weight for weight: together they give all three curves.  For the
    same reason early stopping with PATIENCE (:func:`early_stopping`) returns exactly the
    weights the run had after its kept epoch, whose test error is that epoch's.
    """
    reps = []
    for r in range(EPOCHS_REPEATS):
        order = np.arange(N_POOL) if r == 0 else np.random.default_rng(SEED + 20 + r).permutation(N_POOL)
        train_set = d["pool"].take(order[:EPOCHS_N])
        seed = SEED + r
        train_err, val_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, seed), train_set, d["val"])
        train_err2, test_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, seed), train_set, d["test"])
        if train_err != train_err2:
            raise RuntimeError("the two seeded runs differ: training is not deterministic")
        stop, kept = early_stopping(val_err, PATIENCE)
        reps.append({"seed": seed, "train_error": train_err, "val_error": val_err, "test_error": test_err,
                     "stop_epoch": int(np.argmin(val_err)) + 1,  # first epoch with the least validation error
                     "patience_stop": stop, "patience_kept": kept, "wrong_share_train": train_set.wrong_share()})
    out = {"n_train": EPOCHS_N, "hidden": EPOCHS_HIDDEN, "epochs": EPOCHS_MAX, "patience": PATIENCE, "repeats": reps}
    _summary(out, reps, ("train_error", "val_error", "test_error"))
    out["stop_epoch"] = int(np.argmin(out["val_error_mean"])) + 1  # least mean validation error
    return out


# --------------------------------------------------------------------------- the whole measurement
def measure(path=None):
    """Every experiment on the embedded digits (or the data at ``path``): the ``res`` that
    ``figures.draw`` draws and records, with the run's wall-clock and processor time."""
    t0, c0 = time.perf_counter(), time.process_time()
    data = load_digits(path)
    print(f"data: {len(data[0])} digits from {data.source}")
    d = prepare(data)
    res = {"data_source": data.source, "n_digits": len(data[0]), "seed": SEED,
           "n_test": N_TEST, "n_val": N_VAL, "n_pool": N_POOL, "n_classes": N_CLASSES,
           "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE, "label_noise": LABEL_NOISE,
           "best_possible_error": BEST_POSSIBLE,
           "wrong_share": {"all": d["wrong_share_all"], **{k: d[k].wrong_share() for k in ("pool", "val", "test")}},
           "n_components": N_COMPONENTS, "input_std": INPUT_STD}
    for name, step in (("size", run_sizes), ("complexity", run_complexity), ("epochs", run_epochs)):
        t = time.perf_counter()
        res[name] = step(d)
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    res["run_seconds"] = time.perf_counter() - t0
    res["cpu_seconds"] = time.process_time() - c0
    return res
