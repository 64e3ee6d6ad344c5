"""The ``fastslice`` command line: it parses, then calls.

``fastslice slice`` (``fastslice.cli.slice_command``: ``batch.slice_files``, then
``finish.finish_batch``), ``analyze``, ``tune``, ``stats``, ``export``, ``review``, ``prune``,
``warmup`` and ``demo`` (``fastslice.cli.demo``).  The flags of the options are derived from their
declarations (``fastslice.settings.declarations``); the other flags are the commands' own.

Kept light at import (``fastslice --help`` loads no numba); the slicing modules are imported
when a command runs.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from .._version import __version__
from ..settings.declarations import DECODER_FLAGS, SLICER, SLICER_FLAGS, add_flags, command_line_message, slicer_params_of
from ..errors import FastsliceError, ParameterError

if TYPE_CHECKING:
    from ..output.rows import Clip

#: The upstream CLI's defaults (openvpi/audio-slicer slicer2.py main()), as the flags of ``Slicer``'s parameters give them.
CLI_DEFAULTS = {o.name: o.command_line_default for o in SLICER if o.name in SLICER_FLAGS}

_EXPORT_HELP = ("also write the set for another tool: hf (AudioFolder metadata), lhotse, nemo, kaldi, gpt-sovits, "
                "diffsinger; PATH is where (default: in OUT_DIR); repeatable")
_TARGET: dict[str, Any] = dict(type=float, nargs=2, default=(4.0, 8.0), metavar=("LO", "HI"))
_SLICER2_NOTE = ("slicer2.py's spellings are taken too: --db_thresh (--threshold), --min_length, --min_interval, "
                 "--hop_size, --max_sil_kept.")


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose error is one line and a pointer to ``--help`` (not the whole usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")

    def parse_args(self, args: Optional[Sequence[str]] = None,  # type: ignore[override]
                   namespace: Optional[argparse.Namespace] = None) -> argparse.Namespace:
        """As argparse's, but an unknown flag is the command's error (its --help), with the flag it resembles."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = subcommands(self).get(str(getattr(parsed, "command", "")), self)
            known = command._option_string_actions
            near = [f"{extra} (did you mean {extra.replace('_', '-')}?)" if extra.replace("_", "-") in known else extra
                    for extra in extras]
            command.error(f"unrecognized arguments: {' '.join(near)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (the command-line reference is generated from it)."""
    parser = Parser(
        prog="fastslice",
        description="Cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.",
    )
    parser.add_argument("--version", action="version", version=f"fastslice {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_slice(commands.add_parser("slice", help="slice audio files and folders into clips", epilog=_SLICER2_NOTE))
    _add_analyze(commands.add_parser("analyze", help="RMS levels, noise floor, a suggested threshold, and the clips "
                                     "given options would make"))
    _add_tune(commands.add_parser("tune", help="write one HTML page to choose the cuts of a recording live: levels, "
                                  "sliders, lengths, listening, and the slice command to copy"))
    _add_sets(commands)
    commands.add_parser(
        "warmup", help="compile fastslice's kernels into numba's cache now (for Docker images, CI, new venvs)",
        description="Compile every kernel the command line and fastslice.Slicer use, for float32 and float64, "
        "into numba's cache, and say where that is. Set NUMBA_CACHE_DIR to choose the folder.",
    )
    demo = commands.add_parser("demo", help="make a short synthetic recording, slice it, print the clips")
    demo.add_argument("-o", "--out", default="fastslice-demo", metavar="DIR", help="folder for the demo (default ./fastslice-demo)")
    add_flags(demo, SLICER_FLAGS)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each command of ``parser`` (``build_parser()``), by name."""
    for action in parser._actions:  # argparse offers no public way to its subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _add_slice(cut: argparse.ArgumentParser) -> None:
    """``slice``: the inputs, -o, every option's flag (as declared) and the command's own flags."""
    cut.add_argument("inputs", nargs="+", metavar="INPUT",
                     help="audio or video files, folders (searched recursively), glob patterns, or - for standard input")
    cut.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder for the clips (input folders are mirrored under it)")
    add_flags(cut, SLICER_FLAGS + ("max_length", "cues", "snap_ms", "detector", "merge_short", "start_seconds",
                                   "end_seconds", "sample_rate", "highpass_hz", "highpass_order", "normalize_dbfs",
                                   "normalize_mix", "loudness_lufs", "peak_ceiling_dbfs", "mono"))
    cut.add_argument("--zip", metavar="PATH", help="also write every clip into one zip file (the clips' paths relative to OUT_DIR)")
    add_flags(cut, ("format", "subtype"))
    cut.add_argument("--manifest", metavar="PATH", help="write every clip to PATH: .csv, or .jsonl (JSON Lines)")
    cut.add_argument("--labels", action="store_true", help="also write an Audacity label file <stem>_labels.txt per input")
    cut.add_argument("--review", action="store_true", help="write OUT_DIR/review.html at the end: look, listen, mark clips to drop")
    add_flags(cut, ("dry_run",))
    cut.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="slice N files at a time, in N processes (default 1)")
    add_flags(cut, ("threads",))
    cut.add_argument("--dask", metavar="ADDRESS", help="send the files to a Dask scheduler (tcp://HOST:8786), or 'local' "
                     "for a LocalCluster of --jobs workers; workers must see the same paths (pip install 'fastslice[dask]')")
    from .slice_command import add_wait_flag

    add_wait_flag(cut)
    add_flags(cut, ("name_template", "file_names"))
    cut.add_argument("--stem", metavar="NAME", help="name the clips of standard input (-) NAME_0, NAME_1, ... (default: stdin)")
    add_flags(cut, ("speaker", "speaker_from_folder", "layout"))
    _add_export_flags(cut)
    add_flags(cut, ("storage_options", "no_clips") + DECODER_FLAGS + ("overwrite",))
    cut.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    cut.add_argument("-v", "--verbose", action="store_true", help="a summary line per file: its clips, and the "
                     "threshold --threshold auto chose for it")


def _add_analyze(analyze: argparse.ArgumentParser) -> None:
    analyze.add_argument("file", metavar="FILE", help="an audio file")
    add_flags(analyze, SLICER_FLAGS + ("max_length", "merge_short") + DECODER_FLAGS,
              helps={"max_length": "as for slice", "merge_short": "as for slice"})
    analyze.add_argument("--plot", metavar="PNG", help="draw the RMS envelope, the threshold and the clips (as bands) "
                         "into PNG (needs matplotlib)")
    analyze.add_argument("--zoom", type=float, nargs=2, metavar=("START", "END"), help="with --plot: draw only "
                         "START to END (seconds), its envelope finer")
    add_flags(analyze, ("detector",), helps={"detector": "as for slice; speech also prints the speech ratio and pause "
                                             "lengths, and plots the speech probability"})


def _add_tune(tune: argparse.ArgumentParser) -> None:
    tune.add_argument("file", metavar="FILE", help="an audio file")
    tune.add_argument("-o", "--out", metavar="HTML", help="the page to write (default FILE's stem + .tune.html, here)")
    add_flags(tune, SLICER_FLAGS + ("max_length",), helps={"max_length": "as for slice: the page starts with it"})
    tune.add_argument("--clips", metavar="OUT_DIR", help="the -o of the command the page shows (default <stem>_clips)")
    tune.add_argument("--target", **_TARGET,
                      help="the wanted clip length range in seconds, shown on the histogram (default 4 8)")
    add_flags(tune, DECODER_FLAGS)


def _add_sets(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The commands over a sliced set: stats, export, review, prune."""
    stats = commands.add_parser("stats", help="count, hours and lengths of the clips in a folder")
    stats.add_argument("folder", metavar="DIR", help="a folder of clips (searched recursively)")
    stats.add_argument("--target", **_TARGET, help="the wanted clip length range in seconds (default 4 8, as "
                       "so-vits-svc asks)")
    stats.add_argument("--outliers", type=int, default=20, metavar="N", help="list at most N clips outside the target (default 20)")

    export = commands.add_parser("export", help="write a sliced set's lists for another tool (from its markers)")
    export.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    _add_export_flags(export, flag="--to", required=True)

    review = commands.add_parser("review", help="write one HTML page to look at and listen to a sliced set, and mark clips to drop")
    review.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    review.add_argument("-o", "--out", metavar="HTML", help="the page to write (default OUT_DIR/review.html)")
    review.add_argument("--target", **_TARGET, help="the wanted clip length range in seconds; clips outside it are "
                        "flagged (default 4 8)")
    review.add_argument("--manifest", metavar="PATH", help="take the clips from this manifest (.csv or .jsonl) instead of the markers")

    prune = commands.add_parser("prune", help="move the clips a review page's list names into OUT_DIR/dropped/ (never deletes)")
    prune.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    prune.add_argument("--list", required=True, metavar="FILE", help="the list the review page saved (dropped.txt)")
    prune.add_argument("--restore", action="store_true", help="move the listed clips back from OUT_DIR/dropped/")
    prune.add_argument("--manifest", metavar="PATH", help="also take the pruned clips out of this manifest (back with --restore)")


def _add_export_flags(parser: argparse.ArgumentParser, flag: str = "--export", required: bool = False) -> None:
    parser.add_argument(flag, dest="exports", action="append", default=[], required=required, metavar="FORMAT[:PATH]",
                        help=_EXPORT_HELP)
    parser.add_argument("--val", type=int, metavar="N", help="set N clips per speaker aside for validation "
                        "(the same ones every run), in the exports' validation lists")
    parser.add_argument("--language", metavar="CODE", help="the language of the clips, for GPT-SoVITS's list: "
                        "zh, ja, en, ko or yue")


def import_numba_without_blas_probe() -> None:
    """Import numba's array support in this process without its BLAS probe.

    Where SciPy is installed, numba imports ``scipy.linalg`` the first time it
    loads any kernel, only to learn whether ``np.dot`` and friends can be
    compiled: 0.3 s and 17 MB per process.  fastslice's kernels use no BLAS, so
    the command line (its own process, and the workers it forks; spawned workers import fresh) tells numba
    there is none.  The Python API leaves numba alone.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    blocked = "scipy.linalg" not in sys.modules
    if blocked:
        sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # "import scipy.linalg" fails, this import only
    try:
        import numba.np.arraymath  # noqa: F401  (imported for its side effect)
    finally:
        if blocked:
            del sys.modules["scipy.linalg"]


# -- the commands ------------------------------------------------------------------------


def run_slice(args: argparse.Namespace) -> int:
    """``fastslice slice`` (``fastslice.cli.slice_command``)."""
    import_numba_without_blas_probe()
    from .slice_command import run_slice as run

    return run(args)


def run_tune(args: argparse.Namespace) -> int:
    """``fastslice tune``: the page to choose a recording's cuts."""
    import_numba_without_blas_probe()
    from ..pages.tune import tune

    params = slicer_params_of(args)
    max_length = params.pop("max_length", None)
    page, frames = tune(args.file, args.out, params=params, max_length=max_length, target=tuple(args.target),
                        out_dir=args.clips, decoder=args.decoder, stream=args.stream)
    print(f"fastslice tune: {frames} RMS frames of {args.file} in {page}")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    """``fastslice analyze``: a recording's levels and the clips the options would make (and a plot)."""
    import_numba_without_blas_probe()
    from ..errors import ParameterError
    from ..report.report import analyze, check_zoom, format_analysis, plot_envelope

    zoom = None
    if args.zoom is not None:
        if not args.plot:
            raise ParameterError("--zoom needs --plot PNG: it says what part of the recording to draw")
        zoom = check_zoom(args.zoom)
    params = slicer_params_of(args)
    source = {"decoder": args.decoder, "stream": args.stream, "detector": args.detector}
    print(format_analysis(analyze(args.file, params, **source)))
    if args.plot:
        plot_envelope(args.file, params, args.plot, zoom=zoom, **source)
        print(f"envelope drawn into {args.plot}" + ("" if zoom is None else f" ({zoom[0]:g} to {zoom[1]:g} s)"))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """``fastslice stats``: count, hours and lengths of a folder's clips."""
    from ..report.report import clip_stats, format_stats

    print(format_stats(clip_stats(args.folder, tuple(args.target)), max_outliers=args.outliers))
    return 0


def run_warmup(args: argparse.Namespace) -> int:
    """``fastslice warmup``: compile the kernels into numba's cache."""
    import_numba_without_blas_probe()
    from ..batch.warmup import warm_up

    seconds, compiled, loaded, folder = warm_up()
    print(f"fastslice warmup: kernels for every decoder's samples and float32/float64 analysis ready in {seconds:.1f} s "
          f"({compiled} compiled, {loaded} loaded from the cache)")
    if folder is None:
        print("fastslice: numba cannot cache the kernels here, so every process compiles them again; "
              "set NUMBA_CACHE_DIR to a writable folder", file=sys.stderr)
        return 1
    print(f"numba cache: {folder}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``fastslice demo`` (``fastslice.cli.demo``)."""
    import_numba_without_blas_probe()
    from .demo import run_demo as run

    return run(args)


def run_export(args: argparse.Namespace) -> int:
    """``fastslice export``: a sliced set's lists for another tool, from its markers."""
    from ..output.markers import iter_markers
    from ..output.exports import write_all
    from ..batch.finish import batch_exports

    root = Path(args.folder)
    if not root.is_dir():
        raise FastsliceError(f"{args.folder}: no such folder")
    try:
        exports = batch_exports(args.exports, args.folder, val=args.val, language=args.language)
    except ValueError as exc:
        print(f"fastslice: {exc}", file=sys.stderr)
        return 2

    def clips() -> Iterator[Clip]:
        for _, _, listed in iter_markers(root):
            yield from listed

    if next(clips(), None) is None:
        raise FastsliceError(f"{args.folder}: no clips found (no .<stem>.fastslice.json marker under it)")
    write_all(exports, clips, args.folder, val=args.val or 0, language=args.language)
    for export in exports:
        print(f"fastslice export: {export.format} -> {export.path}")
    return 0


def run_review(args: argparse.Namespace) -> int:
    """``fastslice review``: the page to look at, listen to and mark a sliced set's clips."""
    from ..pages.review import review

    page, count = review(args.folder, args.out, manifest=args.manifest, target=tuple(args.target))
    print(f"fastslice review: {count} clips in {page}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    """``fastslice prune``: move the clips a review page's list names aside (or back)."""
    from ..pages.review import prune

    moves = prune(args.folder, args.list, restore=args.restore, manifest=args.manifest)
    for source, target in moves:
        print(f"{source} -> {target}")
    print(f"fastslice prune: {len(moves)} clips {'restored' if args.restore else 'moved into ' + str(Path(args.folder) / 'dropped')}")
    return 0


RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "slice": run_slice, "analyze": run_analyze, "tune": run_tune, "stats": run_stats, "warmup": run_warmup,
    "export": run_export, "review": run_review, "prune": run_prune, "demo": run_demo,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return RUNNERS[args.command](args)
    except ParameterError as exc:
        print(f"fastslice: {command_line_message(exc)}", file=sys.stderr)
        return 2
    except FastsliceError as exc:
        print(f"fastslice: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nfastslice: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. "fastslice analyze ... | head": the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
