"""The kubeconfig file: where it is, and writing it with a backup, atomically, mode 0600."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from access.errors import UsageError


def kubeconfig_path(given: Path | None) -> Path:
    """``--kubeconfig``, else the first entry of ``$KUBECONFIG``, else ``~/.kube/config``; symlinks followed."""
    if given is not None:
        path = given
    else:
        env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
        path = Path(env[0]) if env else Path.home() / ".kube" / "config"
    path = path.expanduser()
    return path.resolve() if path.is_symlink() else path


def read_kubeconfig(path: Path) -> str:
    """The file's text; "" when there is no file yet."""
    try:
        return path.read_text() if path.exists() else ""
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None


def write_kubeconfig(path: Path, text: str) -> Path | None:
    """Back up the current file, then replace it atomically; both end up mode 0600 (kubeconfigs hold secrets)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    backup = None
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.eks-access-{stamp}.bak")
        counter = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.eks-access-{stamp}-{counter}.bak")
            counter += 1
        _write_private(backup, path.read_bytes(), exclusive=True)
    temporary = path.with_name(f".{path.name}.eks-access-{os.getpid()}.tmp")
    _write_private(temporary, text.encode(), exclusive=False)
    os.replace(temporary, path)
    return backup


def _write_private(path: Path, data: bytes, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)  # the umask may have taken bits away, never added; make it exact
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
