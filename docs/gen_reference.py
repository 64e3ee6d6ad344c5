"""Generate the reference pages of the documentation site, at build time (mkdocs-gen-files).

- ``reference/cli.md``: the command line, walked from ``fastslice.cli.build_parser()`` itself
  (the program, its description, every subcommand and each argument's flags, metavar, default
  and help), so the page can never drift from the parser;
- ``reference/api.md``: one mkdocstrings directive per public name of ``fastslice``
  (``fastslice.__all__``), pointed at the module that defines it, so the page follows the code
  wherever a name moves;
- ``reference/options.md``: the table ``fastslice.settings.options.options_reference_markdown()`` derives
  from the option declarations, where this version of fastslice has it.

Run by ``mkdocs build`` through the ``gen-files`` plugin (``mkdocs.yml``); it can also be run
alone, ``python docs/gen_reference.py``, to print the pages.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # build from a clone without installing it
    sys.path.insert(0, str(ROOT))

import fastslice  # noqa: E402
from fastslice.cli import build_parser  # noqa: E402

_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]|"} | {"<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """``text`` as literal Markdown inside a table cell (no emphasis, no HTML, no column breaks)."""
    return " ".join(text.split()).translate(_ESCAPES)


def code(text: str) -> str:
    """``text`` as inline code inside a table cell."""
    return "<code>" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;") + "</code>"


def actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's arguments in the order they were added (argparse keeps them in ``_actions``)."""
    return list(parser._actions)  # argparse has no public accessor for its actions


def subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """Each subcommand of ``parser``: its name, its parser and the help its parent gives it."""
    for action in actions(parser):
        if isinstance(action.choices, dict) and all(isinstance(p, argparse.ArgumentParser) for p in action.choices.values()):
            helps = {choice.dest: choice.help or "" for choice in action._get_subactions()}  # argparse keeps each subcommand's help there
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name, "")


def metavar_of(action: argparse.Action) -> str:
    """What the user types after the flag (empty for a flag that takes no value)."""
    if action.nargs == 0:
        return ""
    if action.choices is not None and action.metavar is None:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    metavar = action.metavar if action.metavar is not None else (action.dest.upper() if action.option_strings else action.dest)
    words = list(metavar) if isinstance(metavar, tuple) else [metavar] * (action.nargs if isinstance(action.nargs, int) else 1)
    text = " ".join(str(w) for w in words)
    return {"+": f"{text} [{text} ...]", "*": f"[{text} ...]", "?": f"[{text}]"}.get(str(action.nargs), text)


def default_of(action: argparse.Action) -> str:
    """The default as the user would type it, or empty where there is none to show."""
    default = action.default
    if default is None or default is argparse.SUPPRESS or action.nargs == 0 or action.required:
        return ""
    if isinstance(default, (tuple, list)):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in default)
    return f"{default:g}" if isinstance(default, float) else str(default)


def help_of(action: argparse.Action, prog: str) -> str:
    """The action's help with argparse's ``%(...)s`` fields filled in, as ``--help`` prints it."""
    text = action.help or ""
    if "%" in text:
        try:
            text = text % {**vars(action), "prog": prog}
        except (KeyError, TypeError, ValueError):
            pass
    return text


def arguments_table(parser: argparse.ArgumentParser) -> list[str]:
    """A Markdown table of ``parser``'s own arguments (the subcommands are sections of their own)."""
    rows = ["| argument | value | default | meaning |", "|---|---|---|---|"]
    # flags --help does not list that spell another's (slicer2.py's --min_length): named beside it
    hidden = {a.dest: a.option_strings for a in actions(parser) if a.help is argparse.SUPPRESS and a.option_strings}
    for action in actions(parser):
        if action.help is argparse.SUPPRESS or isinstance(action.choices, dict) and action.nargs == argparse.PARSER:
            continue
        flags = ", ".join(code(f) for f in action.option_strings) or code(metavar_of(action))
        if action.option_strings and hidden.get(action.dest):
            flags += " (also " + ", ".join(code(f) for f in hidden[action.dest]) + ")"
        value = code(metavar_of(action)) if action.option_strings and metavar_of(action) else ""
        default = code(default_of(action)) if default_of(action) else ""
        meaning = escape(help_of(action, parser.prog))
        if action.required and action.option_strings:
            meaning = "**required.** " + meaning
        rows.append(f"| {flags} | {value} | {default} | {meaning} |")
    return rows


def cli_page(parser: argparse.ArgumentParser) -> str:
    """The command line reference: the program, then one section per subcommand."""
    lines = [
        "# Command line reference",
        "",
        "Generated from the parser itself (`fastslice.cli.build_parser()`) when the site is built; "
        "`fastslice COMMAND --help` prints the same. What each option does, with examples, is in the how-to pages.",
        "",
        f"```text\n{parser.format_usage().strip()}\n```",
        "",
        escape(parser.description or ""),
        "",
        *arguments_table(parser),
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    subs = list(subcommands(parser))
    lines += [f"| [`{name}`](#{parser.prog}-{name}) | {escape(text)} |" for name, _, text in subs]
    for name, sub, text in subs:
        lines += ["", f"## `{sub.prog}` {{#{parser.prog}-{name}}}", "", escape(sub.description or text), "",
                  f"```text\n{sub.format_usage().strip()}\n```", "", *arguments_table(sub)]
    return "\n".join(lines) + "\n"


def api_page() -> str:
    """One mkdocstrings directive per public name, at the module that defines it."""
    lines = [
        "# Python API reference",
        "",
        "Generated from the docstrings of the names `fastslice` exports (`fastslice.__all__`); each is imported "
        "as `from fastslice import NAME`. How to use them, with examples: [Python](../how-to/python.md).",
    ]
    for name in fastslice.__all__:
        obj = getattr(fastslice, name)
        obj = getattr(obj, "__wrapped__", obj)  # fastslice.tune and .review: callable modules, their function
        if not hasattr(obj, "__qualname__"):  # __version__
            continue
        lines += ["", f"::: {obj.__module__}.{obj.__qualname__}"]
    return "\n".join(lines) + "\n"


def options_page() -> str:
    """The options table from the option declarations, where this fastslice declares them in one place."""
    options = importlib.import_module("fastslice.settings.options")
    head = ["# Options reference", ""]
    if hasattr(options, "options_reference_markdown"):
        return "\n".join([*head, "Derived from the option declarations in `fastslice.settings.options` when the site is built: "
                          "one row per option of `SliceOptions`, with its flag, unit, default, help and whether it "
                          "changes the clips.", "", options.options_reference_markdown().strip()]) + "\n"
    return "\n".join([*head, "This version of fastslice does not derive an options table from its declarations "
                      "(`fastslice.settings.options.options_reference_markdown`); every flag is in the "
                      "[command line reference](cli.md) and the keyword names in the [Python API](api.md)."]) + "\n"


def pages() -> dict[str, str]:
    """Every generated page, by its path under docs/."""
    return {"reference/cli.md": cli_page(build_parser()), "reference/api.md": api_page(), "reference/options.md": options_page()}


def write_pages() -> None:
    """Write the pages into the site being built (mkdocs-gen-files runs this file during ``mkdocs build``)."""
    import mkdocs_gen_files

    for path, text in pages().items():
        with mkdocs_gen_files.open(path, "w") as page:
            page.write(text)


if __name__ == "__main__":
    for path, text in pages().items():
        print(f"--- {path}\n{text}")
else:
    write_pages()
