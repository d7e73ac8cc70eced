"""A stand-in for SLURM's ``sbatch``, ``srun``, ``sacct`` and ``scancel``, enough for submitit.

There is no SLURM cluster here, so ``tests/test_sweeps.py`` puts these commands first on ``PATH``
(:func:`install`) and runs a real ``hydra/launcher=slurm`` sweep: submitit writes its real sbatch
script and calls ``sbatch``; this ``sbatch`` keeps a copy of the script (the test reads the
``#SBATCH`` lines), answers with a job id, and runs each element of the job array in a background
process, with the ``SLURM_*`` variables a node would set, once submitit has written that element's
pickle. ``sacct`` reports an element COMPLETED once it has run. The jobs run on this machine, in
order: this checks what confsched and submitit do around SLURM, not SLURM itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

_JOB_ID = 4242


def install(bin_dir: Path, state_dir: Path) -> dict[str, str]:
    """Write the commands into ``bin_dir``; return the environment that puts them on ``PATH``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    for name in ("sbatch", "srun", "sacct", "scancel"):
        command = bin_dir / name
        command.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"import fake_slurm\nfake_slurm.main({name!r}, sys.argv[1:])\n"
        )
        command.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_SLURM_STATE": str(state_dir)}


def main(command: str, args: list[str]) -> None:
    state = Path(os.environ["FAKE_SLURM_STATE"])
    if command == "sbatch":
        _sbatch(Path(args[-1]), state)
    elif command == "srun":  # run the job's command in place (no --output redirection: the log is ours)
        words = iter(args)
        rest = []
        for word in words:
            if word in ("--output", "--error"):
                next(words)
            elif not word.startswith("--"):
                rest = [word, *words]
        sys.exit(subprocess.run(rest, check=False).returncode)
    elif command == "sacct":
        ids = [args[i + 1] for i, word in enumerate(args) if word == "-j"]
        print("JobID|State|NodeList")
        for job in ids:
            for done in sorted(state.glob(f"{job}_*.done")):
                print(f"{done.stem}|COMPLETED|node1")
            for running in sorted(state.glob(f"{job}_*.running")):
                print(f"{running.stem}|RUNNING|node1")
    elif command == "scancel":
        pass


def _sbatch(script: Path, state: Path) -> None:
    text = script.read_text()
    job = _JOB_ID + len(list(state.glob("*.sh")))
    (state / f"{job}.sh").write_text(text)
    found = re.search(r"^#SBATCH --array=(\d+)-(\d+)", text, re.MULTILINE)
    tasks = range(int(found[1]), int(found[2]) + 1) if found else range(1)
    for task in tasks:
        (state / f"{job}_{task}.running").touch()
    runner = [sys.executable, __file__, "run", str(script), str(job), str(len(tasks)), str(state)]
    log = (state / f"{job}.log").open("a")
    subprocess.Popen(runner, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    print(f"Submitted batch job {job}")


def _run(script: Path, job: str, count: int, state: Path) -> None:
    """Each element of the array, in order, once submitit has written its pickle (60 s at most)."""
    for task in range(count):
        element = f"{job}_{task}"
        deadline = time.monotonic() + 60
        while not list(script.parent.rglob(f"{element}_submitted.pkl")) and time.monotonic() < deadline:
            time.sleep(0.05)
        environment = {
            **os.environ,
            "SLURM_JOB_ID": str(int(job) + 1 + task),
            "SLURM_ARRAY_JOB_ID": job,
            "SLURM_ARRAY_TASK_ID": str(task),
            "SLURM_NTASKS": "1",
            "SLURM_JOB_NUM_NODES": "1",
            "SLURM_NODEID": "0",
            "SLURM_PROCID": "0",
            "SLURM_LOCALID": "0",
            "SLURM_JOB_NODELIST": "node1",
        }
        subprocess.run(["bash", str(script)], env=environment, check=False)
        (state / f"{element}.running").rename(state / f"{element}.done")


if __name__ == "__main__" and sys.argv[1] == "run":
    _run(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
