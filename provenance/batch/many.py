"""Walk inputs and verify or sign them in parallel, streaming results in input order.

Memory stays flat with the number of files: paths are produced lazily by a walk, and at
most a small window of files is in flight at once. Two engines run the same per-file job
(``_internal/batch/job.py``), each worker building what is costly once, not once per
file (a ``Verifier``; for signing, the unlocked key, the repository and the time-stamp
responder): ``local``, a process pool on this machine, and ``dask``, the workers of a Dask
cluster (the optional extra ``[dask]``).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from provenance._internal.text import safe_text
from provenance.batch.job import FileJob
from provenance.batch.local import WORKERS_PER_CPU, max_workers, run_locally
from provenance.batch.task import VerifyJob
from provenance.credentials.manifest import TrainingMining
from provenance.errors import OutputRefused, Remedy
from provenance.kinds.media import Limits
from provenance.report import path_fields
from provenance.verify.verifier import Report, VerifyConfig

if TYPE_CHECKING:
    import distributed

__all__ = [
    "WORKERS_PER_CPU",
    "SignOutcome",
    "SignSettings",
    "SignStatus",
    "count_files",
    "iter_files",
    "max_workers",
    "paths_from_lines",
    "sign_many",
    "verify_many",
]

Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")
R = TypeVar("R")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Unwalkable:
    """A named input the walk could not turn into files: a directory (without
    ``recursive``) or one it could not list."""

    path: Path
    message: str
    remedy: Remedy | None = None


def iter_files(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> Iterator[Path | Report]:
    """Files named or found under ``inputs``, depth-first in sorted order.

    A directory without ``recursive`` becomes an ``error`` report rather than being
    silently skipped. Symbolic links to directories are followed once: a directory
    already visited (by device and inode) is not entered again, so a link loop ends;
    neither is a directory of ``skip`` (an output folder inside the input tree).
    """
    for item in walk(inputs, recursive=recursive, skip=skip):
        if isinstance(item, Unwalkable):
            yield Report.failed(item.path, item.message, remedy=item.remedy)
        else:
            yield item


def walk(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> Iterator[Path | Unwalkable]:
    """``iter_files`` with the inputs it could not walk as ``Unwalkable``."""
    skipped = {key for key in map(_identity, skip) if key is not None}
    for item in inputs:
        path = Path(item)
        if recursive and path.is_dir():
            yield from _walk(path, skipped)
        elif path.is_dir():
            yield Unwalkable(path, "is a directory", Remedy.RECURSE)
        else:
            yield path


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


#: The suffix of a sidecar manifest store (``credentials.read.sidecar_path``).
SIDECAR_SUFFIX = ".c2pa"


def _walk(root: Path, skipped: set[tuple[int, int]]) -> Iterator[Path | Unwalkable]:
    seen = set(skipped)
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            info = directory.stat()
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            yield Unwalkable(directory, f"cannot list directory: {exc.strerror or exc}")
            continue
        subdirs: list[Path] = []
        # A sidecar (NAME.c2pa beside NAME.jpg) is read with its content, not on its own.
        stems = {Path(e.name).stem for e in entries if not e.name.endswith(SIDECAR_SUFFIX)}
        for entry in entries:
            if entry.name.endswith(SIDECAR_SUFFIX) and Path(entry.name).stem in stems:
                continue
            try:
                mode = os.stat(entry.path).st_mode  # follows links
            except OSError:
                mode = 0  # dangling link or unreadable: report it as a file
            if stat.S_ISDIR(mode):
                subdirs.append(Path(entry.path))
            else:
                yield Path(entry.path)
        stack.extend(reversed(subdirs))


def count_files(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> int:
    """How many results ``iter_files`` gives for ``inputs``, holding none of them.

    A second walk, for a progress total: it costs file-system calls only, so it can run in
    a thread beside the batch. Memory is that of the walk (the directories seen), not the
    number of files. A tree that changes meanwhile makes the total slightly off.
    """
    return sum(1 for _ in walk(inputs, recursive=recursive, skip=skip))


def paths_from_lines(lines: Iterable[bytes]) -> Iterator[Path]:
    """Paths listed one a line (bytes, so names that are not UTF-8 survive).

    Only the line ending (``\\n`` or ``\\r\\n``) is removed: a name may begin or end with a
    space. Blank lines (nothing before the line ending) are skipped.
    """
    for line in lines:
        name = line[:-1] if line.endswith(b"\n") else line
        if name.endswith(b"\r"):
            name = name[:-1]
        if name:
            yield Path(os.fsdecode(name))


def verify_many(
    items: Iterable[Path | Report],
    config: VerifyConfig,
    *,
    workers: int = 1,
    ordered: bool = True,
    file_timeout: float | None = None,
    engine: Engine = "local",
    scheduler: str | distributed.Client | None = None,
) -> Iterator[Report]:
    """Reports for ``items``, verified by ``workers`` local processes or on a Dask cluster.

    In input order by default; with ``ordered=False`` each report comes as soon as it is
    ready. ``file_timeout`` (seconds) turns a file that takes longer into an ``error``
    report; it interrupts Python code and takes effect once a native call returns.
    Locally, ``workers`` is capped at ``max_workers()`` (``WORKERS_PER_CPU`` per CPU) and
    at the number of files, and no worker outlives the batch or this process.

    With ``engine="dask"``, ``scheduler`` is the scheduler's address (``tcp://host:8786``,
    ``tls://...``) or a ``distributed.Client`` (left open); ``workers`` is ignored, the
    cluster's workers do the work. The cluster is reached here, before the first report:
    an unreachable scheduler or one without workers raises ``UsageError`` at once.
    """
    if file_timeout is not None and file_timeout <= 0:
        raise ValueError("file_timeout must be positive")
    _check_engine(engine, scheduler)
    return _run(items, VerifyJob(config, file_timeout), workers, ordered, engine, scheduler)


class SignStatus(enum.StrEnum):
    """What became of one input of ``sign_many``, in order of the exit code it carries."""

    SIGNED = "signed"  # exit 0
    FAILED = "failed"  # exit 1: refused on its merits, or the output could not be written
    REFUSED = "refused"  # exit 2: the output path cannot be written as given (it exists, ...)
    UNREADABLE = "unreadable"  # exit 3: the input could not be read, or is not supported

    @property
    def exit_code(self) -> int:
        return list(SignStatus).index(self)

    @classmethod
    def for_exit_code(cls, code: int) -> SignStatus:
        """The status of a file whose error carries exit ``code`` (``ProvenanceError``)."""
        statuses = list(cls)
        return statuses[code] if 0 < code < len(statuses) else cls.FAILED


@dataclasses.dataclass(frozen=True)
class SignSettings:
    """How every file of a batch is signed: the options of `provenance sign`.

    ``home`` holds the key store (and by default the repository, ``HOME/repository.sqlite``;
    ``repository``: a path or URL). The defaults are the store's default identity and
    watermark key and a time-stamp from its authority (``tsa_url``: an external one;
    ``time_stamp=False``: none). ``watermark=False`` signs without a watermark and stores
    nothing. ``force`` replaces existing outputs (regular files only). ``parent``: every
    file is an edit of it (``sign --parent``); ``ai_edit``: an AI model made the edits;
    ``keep_invalid_history``: record credentials that fail validation as an invalid
    ingredient instead of refusing the file. ``sidecar``: each manifest store goes beside
    its signed copy as ``NAME.c2pa`` instead of into it (``sign --sidecar``).
    """

    home: Path
    identity: str | None = None
    model: str | None = None
    model_version: str | None = None
    training_mining: TrainingMining = TrainingMining.NOT_ALLOWED
    watermark: bool = True
    watermark_key: str | None = None
    repository: str | None = None
    tsa_url: str | None = None
    time_stamp: bool = True
    force: bool = False
    limits: Limits = dataclasses.field(default_factory=Limits)
    parent: Path | None = None
    ai_edit: bool = False
    keep_invalid_history: bool = False
    assertions: tuple[Mapping[str, Any], ...] = ()  # the user's own (``user_assertions``)
    sidecar: bool = False


def _omitted() -> Any:
    return dataclasses.field(default=None, metadata={"omit_if_none": True})


@dataclasses.dataclass(frozen=True)
class SignOutcome:
    """One input of ``sign_many``: where its signed copy went, or why there is none.

    ``input`` is the name as given; ``output`` where the signed copy is (or would have
    been) written; ``manifest`` where its sidecar manifest store is (signed with
    ``SignSettings.sidecar`` only); ``record`` the watermark's repository record id
    (16 hex digits; None without a watermark); ``error`` one line, None once signed, and
    ``remedy`` what the caller could change to get past it. Names that are not UTF-8
    also come as base64 bytes (``input_bytes``, ``output_bytes``), as in reports.
    """

    input: str
    status: SignStatus
    output: str | None = None
    media_type: str | None = None
    record: str | None = None
    signer: str | None = None
    time_stamp: str | None = None
    size: int | None = None
    error: str | None = None
    # What would get past the error (``provenance.errors.Remedy``), when something would.
    remedy: str | None = _omitted()
    manifest: str | None = _omitted()
    input_bytes: str | None = _omitted()
    output_bytes: str | None = _omitted()

    @classmethod
    def make(cls, given: str | Path, output: str | Path | None, **fields: Any) -> SignOutcome:
        """An outcome naming ``given`` and ``output`` exactly (bytes kept when not UTF-8)."""
        name, raw = path_fields(given)
        out, out_raw = path_fields(output) if output is not None else (None, None)
        return cls(name, output=out, input_bytes=raw, output_bytes=out_raw, **fields)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.metadata.get("omit_if_none"):
                continue
            found[field.name] = value.value if isinstance(value, enum.Enum) else value
        return found


def sign_many(
    inputs: Iterable[Path],
    out_dir: Path,
    settings: SignSettings,
    passphrase: str | Callable[[], str],
    *,
    recursive: bool = False,
    workers: int = 1,
    ordered: bool = True,
    engine: Engine = "local",
    scheduler: str | distributed.Client | None = None,
    stop: threading.Event | None = None,
) -> Iterator[SignOutcome]:
    """Sign every file named or found (with ``recursive``) under ``inputs`` into ``out_dir``.

    Each signed copy goes to ``out_dir`` joined with its input's path as given, made
    relative (a leading ``/`` and leading ``..`` dropped, like tar): ``gen/a/x.png`` to
    ``OUT/gen/a/x.png``, ``/data/x.png`` to ``OUT/data/x.png``; folders are made as needed,
    and ``out_dir`` is never walked as an input. An existing output is that file's
    ``refused`` outcome unless ``settings.force``; it is never overwritten otherwise. Every
    file gets its watermark record in the repository and its line in the key store's
    audit log, as `provenance sign` does. Outcomes stream in input order (``ordered``)
    or as they finish, from ``workers`` local processes or on a Dask cluster
    (``engine``, ``scheduler``: as ``verify_many``). Once ``stop`` is set no further file
    is started; those in flight are finished and their outcomes still come, so every
    output written is reported.

    Checked here, before any file: the output folder (made when missing), the key store,
    the watermark key and the repository; then ``passphrase`` (a callable is called once,
    only then) unlocks the signing key once, so a wrong passphrase or an unusable identity
    raises at once. Each worker then unlocks the key once for the whole batch, and drops
    it when the batch ends. On Dask the passphrase travels to the workers with the job
    (docs/pipelines.md says what that exposes).
    """
    from provenance.batch.signing import SignJob, prepare

    _check_engine(engine, scheduler)
    out_dir, location = prepare(out_dir, settings)
    secret = passphrase() if callable(passphrase) else passphrase
    job = SignJob(dataclasses.replace(settings, repository=location), out_dir, secret)
    job.check()
    try:
        items: Iterator[Path | SignOutcome] = (
            SignOutcome.make(
                item.path,
                None,
                status=SignStatus.UNREADABLE,
                error=item.message,
                remedy=item.remedy,
            )
            if isinstance(item, Unwalkable)
            else item
            for item in _until(stop, walk(inputs, recursive=recursive, skip=[out_dir]))
        )
        if settings.sidecar:
            items = _one_input_a_sidecar(items, out_dir)
        if engine == "dask":
            job.release()  # the client signs nothing itself
        return _run(items, job, workers, ordered, engine, scheduler)
    except BaseException:
        job.release()
        raise


def _one_input_a_sidecar(
    items: Iterator[Path | SignOutcome], out_dir: Path
) -> Iterator[Path | SignOutcome]:
    """Refuse an input whose sidecar another input of the batch already takes: ``x.jpg``
    and ``x.png`` both keep their manifest in ``x.c2pa``. Keeps the sidecar names seen
    (one path per input signed with a sidecar)."""
    from provenance.batch.signing import mirrored
    from provenance.credentials.read import sidecar_path

    taken: dict[Path, Path] = {}
    for item in items:
        if isinstance(item, Path):
            try:
                output = out_dir / mirrored(item)
            except OutputRefused:
                yield item  # the job says why
                continue
            manifest = sidecar_path(output)
            first = taken.setdefault(manifest, item)
            if first is not item:
                yield SignOutcome.make(
                    item,
                    output,
                    status=SignStatus.REFUSED,
                    error=f"its sidecar {safe_text(manifest, 4096)} is that of "
                    f"{safe_text(first, 4096)}, signed in this batch",
                )
                continue
        yield item


def _until(stop: threading.Event | None, items: Iterable[T]) -> Iterator[T]:
    """``items`` until ``stop`` is set."""
    for item in items:
        if stop is not None and stop.is_set():
            return
        yield item


def _check_engine(engine: Engine, scheduler: object) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if (engine == "dask") != (scheduler is not None):
        raise ValueError("a scheduler goes with engine='dask', and only with it")


def _run(
    items: Iterable[Path | R],
    job: FileJob[R],
    workers: int,
    ordered: bool,
    engine: Engine,
    scheduler: str | distributed.Client | None,
) -> Iterator[R]:
    iterator = iter(items)
    if engine == "local":
        return run_locally(iterator, job, workers=workers, ordered=ordered)
    from provenance.batch.dask import connect, run_on_dask

    assert scheduler is not None
    client = connect(scheduler) if isinstance(scheduler, str) else scheduler
    return run_on_dask(client, iterator, job, ordered=ordered, close=isinstance(scheduler, str))
