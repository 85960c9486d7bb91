"""Receipt files on disk, named by their SHA-256: the same bytes are stored (and found) once."""

import hashlib
import os
import re
import tempfile
from pathlib import Path

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


class ReceiptStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Two levels of fan-out (ab/cd/abcd…) keep each directory small."""
        if not SHA256_PATTERN.fullmatch(sha256):
            raise ValueError("not a SHA-256 in lower-case hex")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def save(self, data: bytes) -> str:
        """Store the bytes under their SHA-256 and return it; bytes already stored stay put."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside its final name and renamed: a reader never sees half a file.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return sha256

    def read(self, sha256: str) -> bytes | None:
        try:
            return self.path_for(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
