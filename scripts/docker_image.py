"""Build and run the service's container image with whatever engine this machine has.

    python scripts/docker_image.py base    # localhost/kvpareto-base:bookworm from Debian packages
    python scripts/docker_image.py build   # the Dockerfile, on python:3.11-slim or that base
    python scripts/docker_image.py run     # serve it on 127.0.0.1:8000 (Ctrl-C stops it)

The Dockerfile's base is python:3.11-slim from Docker Hub. Where Docker Hub cannot be reached
(this project's machines reach only Debian, PyPI and npm), `base` makes a stand-in from Debian
bookworm's packages with mmdebstrap (`apt-get install mmdebstrap`): minbase, python3 3.11,
python3-venv and ca-certificates, a venv at /opt/venv first on PATH, so the Dockerfile's `pip`,
`python` and `uvicorn` are the venv's, as they are /usr/local's in python:3.11-slim.

Engines: podman (preferred: no daemon), else docker when its daemon answers; KVPARETO_ENGINE
names one. Podman as root inside a container (these machines) needs two things spelt out:
  - runc instead of crun ("crun: cgroups in hybrid mode not supported, drop all controllers from
    cgroupv2"), when runc is installed;
  - ulimits no higher than this process's own hard limits: podman asks for nofile=1048576 and
    nproc=pid_max, and without CAP_SYS_RESOURCE the runtime gets "setrlimit `RLIMIT_NOFILE`:
    Operation not permitted".
The build mounts this machine's CA bundle (read-only, build time only, not in the image) so that
pip trusts the same certificates as the host's pip, e.g. an intercepting proxy's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_BASE = "docker.io/library/python:3.11-slim"
LOCAL_BASE = "localhost/kvpareto-base:bookworm"
IMAGE = "localhost/kvpareto:local"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN = ("deb http://deb.debian.org/debian bookworm main",
          "deb http://deb.debian.org/debian bookworm-updates main",
          "deb http://deb.debian.org/debian-security bookworm-security main")
VENV_PATH = "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class NoEngine(RuntimeError):
    """No container engine that can build and run here (the message says why)."""


def _answers(cmd: list[str], timeout: float) -> tuple[bool, str]:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return r.returncode == 0, (r.stderr or r.stdout).strip()[-300:]


def engine() -> str:
    """`podman` or `docker`, whichever works (KVPARETO_ENGINE forces one); NoEngine says why."""
    wanted = os.environ.get("KVPARETO_ENGINE")
    reasons = []
    for name in ([wanted] if wanted else ["podman", "docker"]):
        if shutil.which(name) is None:
            reasons.append(f"{name}: not installed")
            continue
        ok, why = _answers([name, "info"], timeout=60)
        if ok:
            return name
        reasons.append(f"{name} info: {why}")
    raise NoEngine("; ".join(reasons) + " (apt-get install podman runc)")


def engine_args(name: str) -> list[str]:
    """Global options placed right after the engine's name (podman: the runtime)."""
    if name == "podman" and shutil.which("runc"):
        return ["--runtime", "runc"]
    return []


def limit_args(name: str) -> list[str]:
    """`--ulimit`s for build and run: podman's defaults exceed what an unprivileged root may set."""
    if name != "podman":
        return []
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    nproc = pid_max if nproc == resource.RLIM_INFINITY else min(nproc, pid_max)
    if nofile == resource.RLIM_INFINITY:
        nofile = 1 << 20
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def exists(name: str, image: str) -> bool:
    cmd = [name, "image", "exists", image] if name == "podman" else [name, "image", "inspect",
                                                                     image]
    return _answers(cmd, timeout=60)[0]


def make_local_base(name: str, image: str = LOCAL_BASE, timeout: float = 600) -> None:
    """A python:3.11-slim stand-in from Debian bookworm's packages (needs mmdebstrap, root)."""
    if shutil.which("mmdebstrap") is None:
        raise NoEngine("no base image: python:3.11-slim cannot be pulled and mmdebstrap is not "
                       "installed (apt-get install mmdebstrap)")
    keep = "/usr/share/doc/*/copyright"
    with tempfile.TemporaryDirectory(prefix="kvpareto-base-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        steps = [
            ["mmdebstrap", "--quiet", "--variant=minbase",
             "--aptopt=APT::Install-Recommends \"false\"",
             "--dpkgopt=path-exclude=/usr/share/man/*",
             "--dpkgopt=path-exclude=/usr/share/locale/*",
             "--dpkgopt=path-exclude=/usr/share/info/*",
             "--dpkgopt=path-exclude=/usr/share/doc/*", f"--dpkgopt=path-include={keep}",
             "--include=python3,python3-venv,ca-certificates",
             "--customize-hook=chroot \"$1\" python3 -m venv /opt/venv",
             "bookworm", str(tar), *DEBIAN],
            [name, "import",
             "--change", f"ENV PATH={VENV_PATH}", "--change", "ENV VIRTUAL_ENV=/opt/venv",
             "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["python3"]',
             str(tar), image]]
        for cmd in steps:
            try:
                subprocess.run(cmd, check=True, timeout=timeout, capture_output=True, text=True)
            except subprocess.CalledProcessError as e:
                raise NoEngine(f"no base image: {cmd[0]} failed: {e.stderr.strip()[-500:]}") from e
            except subprocess.TimeoutExpired as e:
                raise NoEngine(f"no base image: {cmd[0]} took over {timeout:.0f} s") from e


def pypi_reachable(timeout: float = 15) -> tuple[bool, str]:
    """Whether the build's `pip install .` can reach PyPI (with this machine's CA bundle)."""
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(CA_BUNDLE) if CA_BUNDLE.is_file() else None)
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=timeout, context=ctx)
    except OSError as e:
        return False, f"PyPI unreachable, the image's `pip install .` cannot run: {e}"
    return True, ""


def base(name: str, timeout: float = 600) -> str:
    """python:3.11-slim when it is here or can be pulled, else the Debian-made stand-in."""
    for image in (UPSTREAM_BASE, LOCAL_BASE):
        if exists(name, image):
            return image
    if _answers([name, "pull", UPSTREAM_BASE], timeout=120)[0]:
        return UPSTREAM_BASE
    make_local_base(name, LOCAL_BASE, timeout)
    return LOCAL_BASE


def build(name: str, base_image: str, image: str = IMAGE, timeout: float = 900,
          quiet: bool = False) -> None:
    """`<engine> build` of the Dockerfile; docker format so that HEALTHCHECK is kept."""
    cmd = [name, *engine_args(name), "build", "--build-arg", f"BASE={base_image}", "-t", image]
    if name == "podman":
        cmd += ["--format", "docker", "--pull=never", *limit_args(name)]
        if CA_BUNDLE.is_file():
            cmd += ["--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    if quiet:
        cmd.append("--quiet")
    subprocess.run([*cmd, str(ROOT)], check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL if quiet else None)


def run_args(name: str, image: str, port: int, container: str) -> list[str]:
    """Detached run publishing the service on 127.0.0.1:port only (podman: no systemd timer;
    the health check is run on demand with `healthcheck run`)."""
    cmd = [name, *engine_args(name), "run", "--detach", "--rm", "--name", container,
           "--publish", f"127.0.0.1:{port}:8000"]
    if name == "podman":
        cmd += ["--health-interval", "disable", *limit_args(name)]
    return [*cmd, image]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["base", "build", "run"])
    p.add_argument("--image", default=IMAGE)
    p.add_argument("--base", help="base image (default: python:3.11-slim, else the Debian one)")
    p.add_argument("--port", type=int, default=8000)
    a = p.parse_args(argv)
    try:
        name = engine()
        if a.step == "base":
            print(base(name))
        elif a.step == "build":
            build(name, a.base or base(name), a.image)
            print(a.image)
        else:
            cmd = run_args(name, a.image, a.port, "kvpareto")
            cmd.remove("--detach")
            try:
                return subprocess.run(cmd).returncode
            except KeyboardInterrupt:  # the engine passes Ctrl-C on to the container
                return 130
    except NoEngine as e:
        print(f"no container engine: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
