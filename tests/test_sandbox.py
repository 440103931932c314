"""grade/sandbox.py: hostile snippets run in the sandbox cannot read or write outside their folder,
reach the network, outlive the run or harm the caller, and each limit stops what it should (memory held
in memfd files, shared memory and tmpfs included: the kernel's cgroup limit); TensorFlow and PyTorch
still work inside.  Where no sandbox can start (no bubblewrap, or no cgroup: simulated by unmounting the
cgroup controllers in a mount namespace of the test's own) the sandbox refuses to run and says what to
do; the weak isolation runs only when asked for.  Where the sandbox cannot run here at all, its tests
are skipped (never on CI)."""

import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from grade import cgroups, sandbox
from grade_fixtures.hostile import WITHOUT_CGROUPS

pytestmark = pytest.mark.slow  # every test starts a sandbox (bubblewrap, cgroups)

ROOT = Path(__file__).resolve().parents[1]
BWRAP, WHY = sandbox.available()
if BWRAP is None and os.environ.get("CI"):
    raise RuntimeError(f"CI must test the sandbox, but bubblewrap cannot run here: {WHY}")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason=f"no sandbox here: {WHY}")
FAST = sandbox.Limits(wall_seconds=30)


def env_for(work):
    return {"PATH": "/usr/bin:/bin", "HOME": str(work), "MPLCONFIGDIR": str(work / "mpl"), "PYTHONHASHSEED": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
            "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "KERAS_BACKEND": "tensorflow"}


def run(tmp_path, code, *args, limits=FAST, prefix=(), **kw):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    cmd = [*prefix, sys.executable, "-c", textwrap.dedent(code), *map(str, args)]
    return sandbox.run(cmd, workdir=work, env=env_for(work), limits=limits, **kw)


@needs_bwrap
def test_the_repository_and_other_folders_are_invisible(tmp_path):
    secrets = [ROOT / "grade" / "runner.py", Path(sys.prefix).parent / "README.md", tmp_path / "other" / "secret.txt"]
    (tmp_path / "other").mkdir()
    secrets[2].write_text("another team's work")
    secrets = [s for s in secrets if s.is_file()]
    assert len(secrets) >= 2  # the model answer's files are there to be found
    r = run(tmp_path, """
        import os, sys
        for path in sys.argv[1:] + [os.path.join(os.path.dirname(sys.prefix), "grade", "runner.py"), "../other/secret.txt"]:
            try:
                print("READ", path, len(open(path).read()))
            except OSError as e:
                print("hidden", type(e).__name__)
        print("NEXT TO THE VENV", sorted(os.listdir(os.path.dirname(sys.prefix))))
        import numpy  # the virtual environment itself works
        print("numpy", numpy.__version__)
        """, *secrets)
    assert r.returncode == 0, r.output
    assert "READ" not in r.output and r.output.count("hidden") == len(secrets) + 2
    assert f"NEXT TO THE VENV {[Path(sys.prefix).name]}" in r.output


@needs_bwrap
def test_writes_only_into_its_folder_and_a_private_tmp(tmp_path, request):
    planted = [ROOT / "planted.txt", Path(sys.prefix) / "planted.txt", Path("/tmp/sandbox-planted.txt")]
    request.addfinalizer(lambda: [p.unlink() for p in planted if p.exists()])  # should the protection fail
    r = run(tmp_path, """
        import os, sys
        for path in sys.argv[1:]:
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError as e:
                print("refused", path, type(e).__name__)
        """, ROOT / "planted.txt", Path(sys.prefix) / "planted.txt", tmp_path / "planted.txt",
        "/tmp/sandbox-planted.txt", tmp_path / "work" / "mine.txt")
    assert r.returncode == 0, r.output
    assert f"refused {ROOT / 'planted.txt'}" in r.output and f"refused {Path(sys.prefix) / 'planted.txt'}" in r.output
    # the sibling of the work folder and /tmp: refused, or written into the sandbox's own /tmp
    assert not (ROOT / "planted.txt").exists() and not (Path(sys.prefix) / "planted.txt").exists()
    assert not (tmp_path / "planted.txt").exists() and not Path("/tmp/sandbox-planted.txt").exists()
    assert (tmp_path / "work" / "mine.txt").read_text() == "x"


@needs_bwrap
def test_no_network(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    r = run(tmp_path, """
        import socket, sys
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
            print("CONNECTED")
        except OSError as e:
            print("no connection", e)
        """, server.getsockname()[1])
    with pytest.raises(socket.timeout):
        server.accept()
    server.close()
    assert "no connection" in r.output and "CONNECTED" not in r.output


@needs_bwrap
def test_environment_is_exactly_what_the_caller_passes(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    r = sandbox.run(["/usr/bin/env"], workdir=work, env={"PATH": "/usr/bin:/bin", "ONLY": "this"}, limits=FAST)
    assert sorted(r.output.split()) == ["ONLY=this", "PATH=/usr/bin:/bin"]


@needs_bwrap
def test_a_double_forked_daemon_dies_with_the_run(tmp_path):
    r = run(tmp_path, """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                for i in range(400):
                    open("daemon.txt", "w").write(str(i))
                    time.sleep(0.02)
            os._exit(0)
        while not os.path.exists("daemon.txt"):
            time.sleep(0.01)
        """)
    assert r.returncode == 0, r.output
    log = tmp_path / "work" / "daemon.txt"
    before = log.read_text()
    time.sleep(0.5)
    assert log.read_text() == before, "a process of the sandbox outlived run()"


@needs_bwrap
def test_the_sandbox_dies_with_the_grader(tmp_path):
    (tmp_path / "work").mkdir()
    grader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from grade import sandbox
        sandbox.run([sys.executable, "-c", "import time\\nwhile True: open('alive.txt', 'a').write('.'); time.sleep(0.02)"],
                    workdir={str(tmp_path / "work")!r}, env={{}})
        """)])
    alive = tmp_path / "work" / "alive.txt"
    for _ in range(300):
        if alive.exists():
            break
        time.sleep(0.05)
    grader.kill()  # SIGKILL: no chance to clean up
    grader.wait()
    time.sleep(0.3)
    size = alive.stat().st_size
    time.sleep(0.5)
    assert alive.stat().st_size == size, "the sandbox outlived the grader"


@needs_bwrap
def test_no_core_dumps(tmp_path):
    r = run(tmp_path, "import os, resource\nprint('CORE', resource.getrlimit(resource.RLIMIT_CORE), flush=True)\nos.abort()")
    assert "CORE (0, 0)" in r.output and r.returncode == 128 + 6
    assert not [p for p in (tmp_path / "work").iterdir() if p.name.startswith("core")]


@needs_bwrap
def test_cannot_see_or_signal_the_callers_processes(tmp_path):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        r = run(tmp_path, """
            import os, signal, sys
            print("PIDS", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
            for pid in map(int, sys.argv[1:]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError as e:
                    print("no such process", pid, e)
            os.kill(-1, signal.SIGKILL)
            """, victim.pid, os.getpid(), os.getppid())
        time.sleep(0.2)
        assert victim.poll() is None, "the sandbox killed a process outside it"
        pids = eval(r.output.split("PIDS", 1)[1].splitlines()[0])
        assert victim.pid not in pids and os.getpid() not in pids and max(pids) < 10
    finally:
        victim.kill()
        victim.wait()


@needs_bwrap
def test_a_4_gb_allocation_fails_and_is_reported_as_memory(tmp_path):
    r = run(tmp_path, "import numpy\nnumpy.ones(500_000_000)\nprint('ALLOCATED')")
    assert r.returncode != 0 and "ALLOCATED" not in r.output
    assert r.limit_hit == "memory" and r.killed_reason is None, r


@needs_bwrap
@pytest.mark.parametrize("nested", [False, True], ids=["", "in-a-nested-pid-namespace"])
def test_processes_that_together_take_too_much_memory_are_killed(tmp_path, nested):
    if nested:  # the hogs hide in a PID namespace of their own (made with an unprivileged user namespace)
        probe = sandbox.run(["unshare", "-Urpf", "true"], workdir=tmp_path, env=env_for(tmp_path), limits=FAST)
        if probe.returncode != 0:
            pytest.skip(f"no nested namespaces inside the sandbox here: {probe.output}")
    r = run(tmp_path, """
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                block = bytearray(os.urandom(1 << 20)) * 300  # 300 MiB each, touched
                time.sleep(20)
                os._exit(0)
        os.wait(); os.wait(); os.wait()
        print("SURVIVED")
        """, limits=sandbox.Limits(wall_seconds=30, memory_bytes=512 * 2**20), prefix=["unshare", "-Urpf"] * nested)
    assert r.killed_reason == "memory" and "SURVIVED" not in r.output, r
    assert r.seconds < 15


@needs_bwrap
def test_a_fork_bomb_is_stopped(tmp_path):
    r = run(tmp_path, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """, limits=sandbox.Limits(wall_seconds=30, processes=64))
    assert r.killed_reason == "processes", r
    assert r.seconds < 15


@needs_bwrap
def test_a_file_above_the_size_limit_is_refused(tmp_path):
    r = run(tmp_path, "open('big.bin', 'wb').write(b'x' * (3 << 20))",
            limits=sandbox.Limits(wall_seconds=30, file_size_bytes=1 << 20))
    assert r.returncode != 0 and r.limit_hit == "file_size", r
    assert (tmp_path / "work" / "big.bin").stat().st_size <= 1 << 20


@needs_bwrap
def test_10_mb_of_printing_is_capped(tmp_path):
    r = run(tmp_path, "print('x' * 10_000_000)\nprint('THE END')", limits=sandbox.Limits(wall_seconds=30, output_bytes=64 * 1024))
    assert r.returncode == 0
    assert len(r.output) < 70_000 and "bytes of output not kept" in r.output and r.output.rstrip().endswith("THE END")
    assert int(re.search(r"\[\.\.\. (\d+) bytes of output not kept", r.output).group(1)) > 9_900_000


HOARD = """
    import os, sys
    kind, chunk, held = sys.argv[1], b"\\1" * (1 << 20), 0
    files = []
    while held < 5 * 1024:  # 5 GB, as the issue's attack, in files of 200 MB (below the file-size limit)
        if held % 200 == 0:
            files.append(os.memfd_create("hoard") if kind == "memfd" else os.open(f"{kind}/hoard{held}", os.O_CREAT | os.O_WRONLY))
        os.write(files[-1], chunk)
        held += 1
        if held % 64 == 0:
            print("HELD", held, flush=True)
    print("HELD ALL")
    """


@needs_bwrap
@pytest.mark.parametrize("kind", ["memfd", "/dev/shm", "/tmp", "."])
def test_memory_held_in_memfd_shared_memory_or_tmpfs_is_limited_by_the_kernel(tmp_path, kind):
    """The issue's attack (5 GB through memfd) and its variants, each only ever inside a 512 MB cgroup."""
    limit = 512 * 2**20
    r = run(tmp_path, HOARD, kind, private=True, limits=sandbox.Limits(
        wall_seconds=60, memory_bytes=limit, tmp_bytes=8 * 2**30, disk_bytes=8 * 2**30))
    held = [int(n) for n in re.findall(r"HELD (\d+)", r.output)]
    assert r.killed_reason == "memory" and "HELD ALL" not in r.output, r
    assert held and max(held) * 2**20 <= limit, f"held {max(held)} MB past the {limit // 2**20} MB limit"


@needs_bwrap
def test_a_private_folder_is_a_copy_on_a_limited_tmpfs(tmp_path):
    """Writes never reach the disk (a full disk is not the submission's to cause), and stop at its size."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "given.txt").write_text("given")
    r = sandbox.run([sys.executable, "-c", textwrap.dedent("""
        import os
        print("READ", open("given.txt").read())
        open("given.txt", "w").write("changed")
        n = 0
        try:
            while True:
                open(f"f{n}", "wb").write(b"x" * (1 << 20))
                n += 1
        except OSError as e:
            print("WROTE", n, "MB:", e.strerror)
        """)], workdir=work, env=env_for(work), cwd=work / "sub", private=True,
        limits=sandbox.Limits(wall_seconds=30, disk_bytes=64 * 2**20))
    assert "READ given" in r.output and re.search(r"WROTE 6[0-4] MB: No space left on device", r.output), r.output
    assert sorted(p.name for p in (work / "sub").iterdir()) == ["given.txt"]
    assert (work / "sub" / "given.txt").read_text() == "given"


@needs_bwrap
def test_a_channel_and_answers_on_standard_input(tmp_path):
    seen = []
    r = run(tmp_path, """
        import os, sys
        secret = sys.stdin.readline().strip()
        for k in range(3):
            os.write(3, f"{secret} {k}\\n".encode())
            print("ANSWER", sys.stdin.readline().strip(), flush=True)
        """, stdin=b"s3cret\n", on_message=lambda line: seen.append(line) or f"got {len(seen)}\n".encode())
    assert seen == [b"s3cret 0", b"s3cret 1", b"s3cret 2"]
    assert [line for line in r.output.splitlines() if line.startswith("ANSWER")] == ["ANSWER got 1", "ANSWER got 2",
                                                                                       "ANSWER got 3"]


@needs_bwrap
def test_each_run_has_its_own_cgroup_and_leaves_none_behind(tmp_path):
    parents = cgroups.hierarchy().parents
    r = run(tmp_path, "print(open('/proc/self/cgroup').read())")
    assert r.returncode == 0
    assert [p.name for parent in parents for p in parent.iterdir() if p.is_dir()] == []


@needs_bwrap
def test_sleeping_past_the_wall_limit_is_killed(tmp_path):
    r = run(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(60)",
            limits=sandbox.Limits(wall_seconds=2))
    assert r.killed_reason == "timeout" and r.limit_hit == "timeout" and "started" in r.output
    assert 2 <= r.seconds < 10


@needs_bwrap
def test_closing_its_output_does_not_escape_the_wall_limit(tmp_path):
    r = run(tmp_path, "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(60)", limits=sandbox.Limits(wall_seconds=2))
    assert r.killed_reason == "timeout" and r.seconds < 10


@needs_bwrap
def test_a_missing_read_only_path_is_the_graders_fault_not_the_commands(tmp_path):
    with pytest.raises(sandbox.SandboxError, match="does-not-exist"):
        run(tmp_path, "pass", readonly=[tmp_path / "does-not-exist"])


@needs_bwrap
def test_a_245_character_folder_name_works(tmp_path):
    work = tmp_path / ("d" * 245)
    work.mkdir()
    r = sandbox.run([sys.executable, "-c", "import os; open('ok.txt', 'w').write(os.getcwd())"], workdir=work,
                    env=env_for(work), limits=FAST)
    assert r.returncode == 0, r.output
    assert (work / "ok.txt").read_text() == str(work)


KERAS = """
    import numpy as np, tensorflow as tf
    x = np.random.default_rng(0).random((100, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(100) % 10]
    model = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(32, activation="sigmoid"),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="categorical_crossentropy")
    print("KERAS", model.fit(x, y, epochs=2, batch_size=10, verbose=0).history["loss"])
    """
TORCH = """
    import torch
    net = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.Sigmoid(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss = torch.nn.functional.cross_entropy(net(torch.rand(100, 784)), torch.arange(100) % 10)
    loss.backward()
    opt.step()
    print("TORCH", float(loss))
    """


@needs_bwrap
def test_tensorflow_keras_and_torch_train_inside_with_the_default_limits(tmp_path):
    # Two sandboxes at once, as the grader runs them with --jobs 2.  Keras imports matplotlib.pyplot,
    # whose font cache takes ~7 s to build in a fresh MPLCONFIGDIR: the one outside is copied in.
    import matplotlib
    (tmp_path / "keras" / "work" / "mpl").mkdir(parents=True)
    (tmp_path / "torch").mkdir()
    for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(cache, tmp_path / "keras" / "work" / "mpl")
    limits = sandbox.Limits(wall_seconds=150)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        keras = pool.submit(run, tmp_path / "keras", KERAS, limits=limits)
        torch = pool.submit(run, tmp_path / "torch", TORCH, limits=limits)
        keras, torch = keras.result(), torch.result()
    assert keras.returncode == 0 and keras.limit_hit is None and "KERAS [" in keras.output, keras.output
    assert torch.returncode == 0 and torch.limit_hit is None and "TORCH " in torch.output, torch.output


def test_without_bubblewrap_no_sandbox_starts_and_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADE_BWRAP", str(tmp_path / "no-such-bwrap"))
    monkeypatch.setattr(sandbox, "_PROBE", None)
    path, why = sandbox.available()
    assert path is None and "apt-get install bubblewrap" in why, why
    with pytest.raises(sandbox.SandboxError, match="install bubblewrap"):
        run(tmp_path, "print('ran')")


@pytest.mark.skipif(os.geteuid() != 0, reason="unmounting cgroups in a mount namespace needs root (as on CI)")
def test_without_a_cgroup_no_sandbox_starts_and_it_says_what_to_change(tmp_path):
    """A machine whose cgroups cannot be delegated (simulated: the controllers unmounted in a mount namespace):
    the sandbox does not start, and says why and what to do; nothing runs."""
    probe = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from grade import sandbox
        print(json.dumps(sandbox.available()))
        try:
            sandbox.run([sys.executable, "-c", "open({str(tmp_path / 'ran')!r}, 'w')"], workdir={str(tmp_path)!r}, env={{}})
        except sandbox.SandboxError as err:
            print("REFUSED", err)
        """)
    proc = subprocess.run([*WITHOUT_CGROUPS, sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    path, why = json.loads(proc.stdout.splitlines()[0])
    assert path is None and "no cgroup with memory and pids limits" in why and "systemd-run --user --scope" in why, why
    assert "REFUSED" in proc.stdout and not (tmp_path / "ran").exists(), proc.stdout + proc.stderr


def test_the_weak_isolation_runs_only_when_asked_for_and_says_so(tmp_path):
    r = run(tmp_path, "import time\nprint('hello', flush=True)\ntime.sleep(60)", limits=sandbox.Limits(wall_seconds=1),
            sandboxed=False)
    assert "NOT SANDBOXED" in r.warning and r.killed_reason == "timeout" and "hello" in r.output


def test_only_folders_of_installed_packages_on_sys_path_are_bound(tmp_path, monkeypatch):
    """A script's own folder (e.g. /tmp, where the grader stages every submission) or a folder of plain files on
    sys.path is never bound into the sandbox: only folders holding installed packages (``*.dist-info``), outside the
    repository and above no temporary folder (a TA's packages reached through PYTHONPATH)."""
    staging, packages, plain = tmp_path / "staging", tmp_path / "pkgs", tmp_path / "plain"
    for folder in (staging, packages / "thing-1.0.dist-info", plain, tmp_path / "x-1.0.dist-info"):
        folder.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(staging))  # where the grader stages the submissions
    monkeypatch.setattr(sys, "path", [str(tmp_path), "/", str(plain), str(packages), *sys.path])
    got = sandbox.python_path()
    assert str(tmp_path.resolve()) not in got and "/" not in got and str(plain.resolve()) not in got, got
    assert str(packages.resolve()) in got, got


STOP_WHILE_STARTING = r'''
import sys, threading, time
from pathlib import Path
from grade import sandbox
assert sandbox.available()[0], sandbox.available()[1]  # probed (and kept) before the start is slowed down
sandbox.ENTER = "sleep 1; " + sandbox.ENTER  # a slow start: the sandbox's shell joins its cgroup 1 s after it began
work = Path(sys.argv[1])
env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}
done = []

def start():
    try:
        done.append(sandbox.run(["sleep", "1234.5"], workdir=work, env=env, limits=sandbox.Limits(wall_seconds=60)))
    except sandbox.SandboxError as err:  # killed before the sandbox was up: said so, as the grader's own fault
        done.append(err)

t = threading.Thread(target=start)
t.start()
time.sleep(0.3)  # started, not yet in its cgroup
sandbox.stop()
t.join(15)
print("returned" if done else "still running")
'''


@needs_bwrap
def test_a_sandbox_stopped_before_it_joined_its_cgroup_is_stopped_all_the_same(tmp_path):
    """stop() (Ctrl-C, SIGTERM) while a sandbox is starting: its cgroup is still empty, so killing the cgroup's
    processes misses it; its process group is killed too, and nothing of it outlives the stop."""
    work = tmp_path / "work"
    work.mkdir()
    r = subprocess.run([sys.executable, "-c", STOP_WHILE_STARTING, str(work)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.stdout.strip() == "returned", r.stdout + r.stderr[-2000:]
    left = subprocess.run(["pgrep", "-f", "sleep 1234.5"], capture_output=True, text=True).stdout
    assert not left, f"the sandbox outlived stop(): {left}"
